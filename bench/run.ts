/** `npm run bench [name…]`: runs the benchmarks (all by default, each in its own process), prints their tables, writes bench/results/*.json. */
import { spawnSync } from 'node:child_process';
import { run as activationApi, runFaults as activationApiFaults } from './activation-api.js';
import { run as bundleInit } from './bundle-init.js';
import { run as cliStart } from './cli-start.js';
import { run as consolePage } from './console.js';
import { run as describeVolumes } from './describe-volumes.js';
import { run as officeHours } from './office-hours.js';
import { run as paramSweep } from './param-sweep.js';
import { run as runbookRate } from './runbook-rate.js';
import { run as staleScan, runFaults as staleScanFaults } from './stale-scan.js';

// The SDK is pinned below its Node 22 cut-off on purpose (see README); its reminder is noise in a benchmark.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const benches: Record<string, () => Promise<boolean>> = { 'bundle-init': bundleInit, 'describe-volumes': describeVolumes, 'stale-scan': staleScan, 'runbook-rate': runbookRate, 'cli-start': cliStart, 'office-hours': officeHours, 'param-sweep': paramSweep, 'activation-api': activationApi, 'stale-scan-faults': staleScanFaults, 'activation-api-faults': activationApiFaults, 'console': consolePage };

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !(w in benches));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')} (have: ${Object.keys(benches).join(', ')})`);
  process.exit(2);
}
const names = wanted.length ? wanted : Object.keys(benches);
let allMet = true;
if (names.length === 1) {
  console.log(`\n== ${names[0]}`);
  allMet = await benches[names[0]]();
} else {
  // Each benchmark in a process of its own: a stage's functions keep their SDK clients (and the endpoint they were
  // made with) for the life of the process, as in Lambda, and one benchmark's heap and timers must not weigh on the
  // next one's figures.
  for (const name of names) {
    const { status } = spawnSync(process.execPath, [...process.execArgv, process.argv[1], name], { stdio: 'inherit' });
    allMet = status === 0 && allMet;
  }
}
console.log(allMet ? '\nall targets met' : '\nSOME TARGETS MISSED');
process.exitCode = allMet ? 0 : 1;
