import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ControlClient, localcloudUrl } from '../control-client.js';
import { print } from '../output.js';

const client = (program: Command) => new ControlClient(localcloudUrl(program.opts<{ endpoint?: string }>().endpoint));

function readEvent(file: string | undefined): unknown {
  if (!file) return {};
  const text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new Error(`--event ${file} is not JSON: ${(e as Error).message}`);
  }
}

export function controlCommands(program: Command): void {
  program
    .command('invoke <function>')
    .option('--event <file>', 'the event as a JSON file (- for standard input); default {}')
    .action(async (fn: string, opts: { event?: string }) => {
      print(await client(program).request('POST', `invoke/${encodeURIComponent(fn)}`, readEvent(opts.event)), program);
    });

  const clock = program.command('clock');
  clock
    .command('show', { isDefault: true })
    .description('print the virtual time')
    .action(async () => print(await client(program).request('GET', 'clock'), program));
  clock
    .command('advance <duration>')
    .description('move forward (46d, 2h, 90s, P46D, PT2H; at most 366d at once), running every schedule, lifecycle change and retry due on the way')
    // `-1d` reads as an option to commander: let it through to say what is wrong with it.
    .allowUnknownOption()
    .action(async (duration: string) => {
      if (duration.startsWith('-')) throw new Error(`clock advance: durations are positive (46d, 2h, 90s), not ${duration}; to go back, clock set <time> --backwards`);
      print(await client(program).request('POST', 'clock', { advance: duration }), program);
    });
  clock
    .command('set <time>')
    .description('jump to an ISO-8601 time (forward jumps run what is due on the way)')
    .option('--backwards', 'allow a time before the current virtual time (schedules already armed keep their later times)')
    .action(async (time: string, opts: { backwards?: boolean }) => {
      const target = Date.parse(time);
      if (!opts.backwards && Number.isFinite(target)) {
        const { now } = await client(program).request<{ now: string }>('GET', 'clock');
        if (target < Date.parse(now)) throw new Error(`clock set: ${time} is before the virtual time ${now}; pass --backwards to move the clock back`);
      }
      print(await client(program).request('POST', 'clock', { set: time }), program);
    });

  const faults = program.command('faults');
  faults
    .command('set')
    .description('replace the fault rules with one rule')
    .option('--service <name>', 'only this service (ssm, ec2, dynamodb, events, sts)')
    .option('--operation <name>', 'only this operation (e.g. DescribeImages)')
    .option('--throttle-rate <0..1>', "share of calls answered with the service's throttling error", Number)
    .option('--error-rate <0..1>', 'share of calls answered with a 5xx', Number)
    .option('--latency-ms <ms>', 'latency added to every matching call', Number)
    .action(async (opts: Record<string, unknown>) => print(await client(program).request('POST', 'faults', opts), program));
  faults
    .command('clear')
    .description('remove every fault rule')
    .action(async () => print(await client(program).request('DELETE', 'faults'), program));
  faults
    .command('show', { isDefault: true })
    .description('print the fault rules')
    .action(async () => print(await client(program).request('GET', 'faults'), program));

  program
    .command('failures')
    .action(async () => print(await client(program).request('GET', 'failures'), program));
}
