import { runCli } from './program.js';

// The SDK is pinned below its Node 22 cut-off on purpose (see README); its reminder is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const code = await runCli(process.argv.slice(2));
// An error ends the process now, whatever sockets or timers the command left open; success lets it end by itself.
if (code !== 0) process.exit(code);
