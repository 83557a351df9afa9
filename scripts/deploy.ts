/**
 * `npm run deploy -- --stage <name> [sst deploy options]`: checks that there is a stage to deploy to and AWS
 * credentials to deploy with, then runs `sst deploy --stage <name>`. Without this, `sst deploy` with no credentials
 * and no terminal asks for a personal stage name, reads nothing, and exits 0 having done nothing.
 *
 * Credentials are looked up as SST and the AWS SDK look them up (the SDK's default chain: environment, shared
 * config and credentials files, SSO, web identity, container and instance roles), for `--profile` when given. Nothing
 * is sent to AWS here: sst checks the account itself.
 *
 * @example
 * npm run deploy -- --stage prod
 * npm run deploy -- --stage prod --profile ops-admin
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { STSClient } from '@aws-sdk/client-sts';
import config from '../opsauto.config.js';

const root = join(import.meta.dirname, '..');
// The SDK is pinned below its Node 22 cut-off on purpose (see README); its reminder is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** The value of `--name <v>` or `--name=<v>` among the arguments. */
function option(args: string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name) return args[i + 1];
    if (args[i].startsWith(`${name}=`)) return args[i].slice(name.length + 1);
  }
  return undefined;
}

function refuse(message: string): never {
  console.error(`opsauto deploy: ${message}`);
  process.exit(1);
}

const args = process.argv.slice(2);
const stage = option(args, '--stage');
if (stage === undefined || stage === '' || stage.startsWith('-')) {
  refuse('name the stage to deploy to, e.g. `npm run deploy -- --stage prod` (stage `local` is the offline one `npm start` runs).');
}
if (stage === 'local') {
  refuse('stage `local` is the offline stage on localcloud (`npm start`), never deployed: give another stage name, e.g. `--stage prod`.');
}
const profile = option(args, '--profile') ?? process.env.AWS_PROFILE;
// As sst.config.ts: the first configured region, unless --region says otherwise.
const region = option(args, '--region') ?? config.regions[0];

const sts = new STSClient({ region, ...(profile ? { profile } : {}) });
try {
  await sts.config.credentials();
} catch (e) {
  const why = e instanceof Error ? e.message : String(e);
  refuse(
    [
      `no AWS credentials to deploy stage ${stage} with (region ${region}${profile ? `, profile ${profile}` : ''}).`,
      'Give the target account\'s credentials in one of these ways:',
      '  - AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones) in the environment;',
      '  - a profile in ~/.aws/credentials or ~/.aws/config, named by AWS_PROFILE or --profile (SSO profiles: `aws sso login --profile <name>` first);',
      '  - a role of the machine (web identity, container or EC2 instance role).',
      `The AWS SDK said: ${why}`,
    ].join('\n'),
  );
} finally {
  sts.destroy();
}

// Exactly the arguments given (the stage among them): sst reads them as it would from `sst deploy`.
const sst = spawn(join(root, 'node_modules/.bin/sst'), ['deploy', ...args], { cwd: root, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => sst.kill(signal));
sst.on('error', (e) => refuse(`could not run sst: ${e.message}`));
sst.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
