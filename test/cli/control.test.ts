import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateDocumentCommand, SSMClient } from '@aws-sdk/client-ssm';
import { amiPublisherEvent } from '@opsauto/core';
import type { Localcloud } from '@opsauto/localcloud';
import { seedDocuments } from '@opsauto/localcloud/services/ssm.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventHandler } from '../../packages/functions/src/handler.js';
import { cliAgainst, runSpawned } from '../helpers/cli.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';

// The CLI's control commands against a localcloud: a line or a table by default, JSON with --json, progress for a
// long advance, mistakes caught with a sentence (nothing changes), and --stage other than local refused. The
// commands run in this process (test/helpers/cli.ts); the first block runs the built binary, as a user does.

let cloud: Localcloud;
const { opsauto, opsautoJson, opsautoFails } = cliAgainst(() => cloud.url);
let dailyFails = false;

beforeAll(async () => {
  cloud = await startTestCloud();
  cloud.lambda.register({ name: 'scan', handler: () => Promise.resolve({ ok: true, volumes: 3 }) });
  cloud.lambda.register({ name: 'publish', handler: () => Promise.resolve({ ok: true }) });
  cloud.lambda.register({ name: 'tick', handler: () => Promise.resolve({ idle: true }) });
  cloud.lambda.register({
    name: 'daily',
    handler: () => (dailyFails ? Promise.reject(new Error('the daily job broke')) : Promise.resolve({ ran: true })),
  });
  // The manifest's ami-publisher takes three event types; its real schema rejects anything else.
  cloud.lambda.register({ name: 'ami-publisher', handler: eventHandler(amiPublisherEvent, () => Promise.resolve({ published: [] })) as never });
  cloud.scheduler.add({ name: 'daily.run', expression: 'cron(0 6 * * ? *)', timezone: 'UTC', target: 'daily' });
  cloud.scheduler.add({ name: 'tick.every-6h', expression: 'rate(6 hours)', timezone: 'UTC', target: 'tick' });
});
afterAll(async () => {
  await cloud.stop();
});

describe('the built opsauto command, in its own process', () => {
  it('prints to standard output and exits 0, or prints one line to standard error and exits 1, and 1 on a usage error', async () => {
    // Act
    const ok = await runSpawned(['--endpoint', cloud.url, 'clock']);
    const refused = await runSpawned(['--endpoint', cloud.url, 'clock', 'advance', '-1d']);
    const usage = await runSpawned(['--endpoint', cloud.url, 'clock', '--no-such-option']);
    // Assess
    expect(ok).toMatchObject({ code: 0, stderr: '' });
    expect(ok.stdout).toMatch(/^virtual time \S+Z/);
    expect(refused).toEqual({ code: 1, stdout: '', stderr: 'opsauto: clock advance: durations are positive (46d, 2h, 90s), not -1d; to go back, clock set <time> --backwards\n' });
    expect(usage.code).toBe(1);
    expect(usage.stderr).toContain("error: unknown option '--no-such-option'");
  });
});

describe('opsauto clock, faults and invoke: mistakes', () => {
  it('refuses a negative advance, saying durations are positive, and leaves the clock', async () => {
    const before = cloud.clock.offset;
    const { code, stderr } = await opsautoFails('clock', 'advance', '-1d');
    expect(code).toBe(1);
    expect(stderr).toContain('clock advance: durations are positive (46d, 2h, 90s), not -1d');
    expect(cloud.clock.offset).toBe(before);
  });

  it('refuses a duration it cannot read or one over 366 days, and leaves the clock', async () => {
    const before = cloud.clock.offset;
    const unreadable = await opsautoFails('clock', 'advance', 'soon');
    const tooLong = await opsautoFails('clock', 'advance', '400d');
    expect(unreadable.stderr).toContain('clock advance: not a duration: "soon"');
    expect(tooLong.stderr).toContain('clock advance: at most 366 days (366d) at once, not 400d');
    expect(cloud.clock.offset).toBe(before);
  });

  it('asks for --backwards before setting the clock to the past, and moves it back with it', async () => {
    const past = new Date(cloud.clock.nowMs() - 86_400_000).toISOString();
    const { code, stderr } = await opsautoFails('clock', 'set', past);
    expect(code).toBe(1);
    expect(stderr).toContain(`clock set: ${past} is before the virtual time`);
    expect(stderr).toContain('--backwards');
    const out = await opsauto('clock', 'set', past, '--backwards');
    expect(out).toMatch(/^virtual time \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(offset -(1d|23h 59m \d+s)\)\n$/);
    expect(cloud.clock.nowMs()).toBeLessThan(Date.parse(past) + 60_000);
    await opsauto('clock', 'set', new Date(Date.now() + 1000).toISOString());
  });

  it('refuses a fault rule for a service localcloud does not serve, or one that injects nothing, and keeps the rules', async () => {
    const unknown = await opsautoFails('faults', 'set', '--service', 'nope', '--error-rate', '0.1');
    const empty = await opsautoFails('faults', 'set', '--service', 'ssm');
    expect(unknown.stderr).toMatch(/service nope is not one localcloud serves \(.*ssm.*dynamodb\)/);
    expect(empty.stderr).toContain('injects nothing');
    expect([unknown.code, empty.code]).toEqual([1, 1]);
    expect(cloud.faults.list()).toEqual([]);
  });

  it('names the functions there are when asked to invoke one that is not', async () => {
    const { code, stderr } = await opsautoFails('invoke', 'nope');
    expect(code).toBe(1);
    expect(stderr).toContain('no function named nope (functions: scan, publish, tick, daily, ami-publisher)');
  });

  it('says which event types a function takes when its schema rejects the event', async () => {
    const file = join(tmpdir(), `h13a-bad-event-${process.pid}.json`);
    writeFileSync(file, JSON.stringify({ source: 'aws.ec2', 'detail-type': 'Something Else', detail: {} }));
    const { code, stderr } = await opsautoFails('invoke', 'ami-publisher', '--event', file);
    expect(code).toBe(1);
    expect(stderr).toContain('InvalidEventError: invalid event: detail-type');
    expect(stderr).toContain('ami-publisher takes: EC2 AMI State Change, EC2 Image Builder Image State Change, Runbook Image Created');
  });
});

describe('opsauto status, clock, faults, failures, invoke: a line or a table, JSON with --json', () => {
  it('status: the time and counts, then each function with its triggers; --json: what localcloud reports', async () => {
    const out = await opsauto('status');
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^local stage at ${cloud.url}: virtual time \\S+Z \\(offset [^)]+\\)$`));
    expect(lines[1]).toMatch(/^5 functions, 0 rules, 2 schedules, 0 routes; services: .*ssm.*dynamodb$/);
    expect(lines[2].split(/\s+/)).toEqual(['function', 'trigger', 'name', 'detail', 'next']);
    expect(lines.find((l) => l.startsWith('daily '))).toMatch(/^daily\s+schedule\s+run\s+cron\(0 6 \* \* \? \*\) UTC\s+\S+T06:00:00Z$/);
    expect(lines.find((l) => l.startsWith('scan '))).toMatch(/^scan\s+-$/);
    const health = await opsautoJson<{ functions: string[]; schedules: unknown[] }>('status');
    expect(health.functions).toEqual(['scan', 'publish', 'tick', 'daily', 'ami-publisher']);
    expect(health.schedules).toHaveLength(2);
  });

  it('clock: one line with the time and the offset; --json: now and offsetMs', async () => {
    const out = await opsauto('clock');
    const json = await opsautoJson<{ now: string; offsetMs: number }>('clock', 'show');
    expect(out).toMatch(/^virtual time \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(offset [^)]+\)\n$/);
    expect(Object.keys(json).sort()).toEqual(['now', 'offsetMs']);
  });

  it('faults: "no fault rules", or a count and a table of the rules; --json: the rules', async () => {
    expect(await opsauto('faults')).toBe('no fault rules\n');
    const set = await opsauto('faults', 'set', '--service', 'ec2', '--operation', 'DescribeImages', '--throttle-rate', '0.25');
    expect(set.trimEnd().split('\n').map((l) => l.split(/\s+/))).toEqual([['1', 'fault', 'rule'], ['service', 'operation', 'throttleRate'], ['ec2', 'DescribeImages', '0.25']]);
    expect(await opsautoJson('faults', 'show')).toEqual({ rules: [{ service: 'ec2', operation: 'DescribeImages', throttleRate: 0.25 }] });
    expect(await opsauto('faults', 'clear')).toBe('no fault rules\n');
    expect(cloud.faults.list()).toEqual([]);
  });

  it("invoke: a line, then the result's fields as a table; --json: the result", async () => {
    const out = await opsauto('invoke', 'scan');
    expect(out.trimEnd().split('\n').map((l) => l.split(/\s+/))).toEqual([['scan:', 'ok'], ['field', 'value'], ['ok', 'true'], ['volumes', '3']]);
    expect(await opsautoJson('invoke', 'scan')).toEqual({ ok: true, volumes: 3 });
  });

  it('clock advance: a line per day, in order, with what ran and failed; the end time last; failures: a table', async () => {
    // Arrange: from 12:00 on, so that each day's 06:00 run falls inside one step.
    const start = new Date(cloud.clock.nowMs() + 86_400_000);
    start.setUTCHours(12, 0, 0, 0);
    await opsauto('clock', 'set', start.toISOString());
    expect(await opsauto('failures')).toBe('no failed invocations\n');
    dailyFails = false;

    // Act: two days and a half; the daily job fails from the second day on (it is retried twice, then dead-lettered).
    const first = await opsauto('clock', 'advance', '1d');
    dailyFails = true;
    const rest = await opsauto('clock', 'advance', '36h');

    // Assess
    const day = (offsetDays: number) => new Date(start.getTime() + offsetDays * 86_400_000).toISOString().slice(0, 10);
    expect(first.trimEnd().split('\n')).toEqual([expect.stringMatching(new RegExp(`^${day(1)}T12:00Z  daily 1 \\(\\+4 idle\\); no failures$`)), expect.stringMatching(/^virtual time /)]);
    const lines = rest.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(new RegExp(`^${day(2)}T12:00Z  daily 3 \\(\\+4 idle\\); 3 failed, 1 to the failure queue$`));
    expect(lines[1]).toMatch(new RegExp(`^${day(3)}T00:00Z  nothing ran \\(\\+2 idle\\); no failures$`));
    expect(lines[2]).toMatch(/^virtual time \S+Z \(offset \+/);

    const failures = (await opsauto('failures')).trimEnd().split('\n');
    expect(failures[0]).toBe('1 failed invocation (after their retries)');
    expect(failures[1].split(/\s+/)).toEqual(['function', 'time', 'trigger', 'attempts', 'error']);
    expect(failures[2]).toMatch(new RegExp(`^daily\\s+${day(2)}T06:03:00Z\\s+schedule daily.run\\s+3\\s+the daily job broke$`));
    const json = await opsautoJson<{ function: string; attempt: number }[]>('failures');
    expect(json.map((f) => [f.function, f.attempt])).toEqual([['daily', 3]]);
  });

  it('clock advance --json: the end only, as one JSON object', async () => {
    const before = cloud.clock.nowMs();
    const out = await opsauto('--json', 'clock', 'advance', '2d');
    expect(Object.keys(JSON.parse(out) as object).sort()).toEqual(['now', 'offsetMs']);
    expect(cloud.clock.nowMs() - before).toBeGreaterThanOrEqual(2 * 86_400_000);
  });
});

describe('--stage other than local: commands that exist only on the local stage refuse with a sentence', () => {
  it.each([
    [['clock', 'advance', '1d'], 'clock: the virtual clock exists only on the local stage; --stage prod has none'],
    [['clock'], 'clock: the virtual clock exists only on the local stage; --stage prod has none'],
    [['faults', 'set', '--error-rate', '0.5'], "faults: fault injection is localcloud's, on the local stage only; --stage prod has none"],
    [['failures'], "failures: lists the local stage's failed asynchronous invocations; on --stage prod they are in the stack's FailedInvocations queue"],
    [['invoke', 'scan'], 'invoke: invokes functions of the local stage only; on --stage prod, use aws lambda invoke'],
    [['status'], 'status: describes the local stage (localcloud); on --stage prod, GET /status of its HTTP API'],
    [['local', '--port', '0', '--api-port', '0'], 'local: runs the local stage only; to deploy --stage prod, npm run deploy -- --stage prod'],
  ])('opsauto --stage prod %j', async (args, sentence) => {
    const before = cloud.clock.offset;
    const invocations = cloud.lambda.invocations.length;
    const { code, stdout, stderr } = await opsautoFails('--stage', 'prod', ...args);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain(`opsauto: ${sentence}`);
    expect([cloud.clock.offset, cloud.lambda.invocations.length, cloud.faults.list()]).toEqual([before, invocations, []]);
  });
});

describe('opsauto build --stage', () => {
  it('refuses a stage name SST cannot take before it starts anything', async () => {
    const { code, stdout, stderr } = await opsautoFails('--stage', 'prod_1', 'build', '--to', join(tmpdir(), 'h13a-never'));
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('build: --stage prod_1 is not a stage name SST takes (letters, digits and hyphens, starting with a letter)');
  });
});

describe('opsauto runbook docs', () => {
  it("lists ours, the stage's AWS-owned runbooks and the account's own, with owner and version; --owner narrows it", async () => {
    // Arrange: an AWS-owned runbook as the stage serves them, one Automation document of the account's own, and a
    // Command document, which is no runbook.
    const ssm = new SSMClient(clientConfig(cloud));
    const content = JSON.stringify({ schemaVersion: '0.3', description: 'mine', mainSteps: [{ name: 'wait', action: 'aws:sleep', inputs: { Duration: 'PT1M' } }] });
    seedDocuments(cloud.store, '000000000000', 'us-east-1', [{ name: 'AWS-StopEC2Instance', content }]);
    await ssm.send(new CreateDocumentCommand({ Name: 'Team-Restart', DocumentType: 'Automation', Content: content, DisplayName: 'Restart the team app' }));
    await ssm.send(new CreateDocumentCommand({ Name: 'Team-Command', DocumentType: 'Command', Content: JSON.stringify({ schemaVersion: '2.2', mainSteps: [{ action: 'aws:runShellScript', name: 'run', inputs: { runCommand: ['true'] } }] }) }));

    // Act
    const out = await opsauto('runbook', 'docs');
    const json = await opsautoJson<{ name: string; owner: string; version?: string; description: string }[]>('runbook', 'docs');
    const own = await opsautoJson<{ name: string }[]>('runbook', 'docs', '--owner', 'self');

    // Assess
    const lines = out.trimEnd().split('\n');
    expect(lines[0].split(/\s+/)).toEqual(['name', 'owner', 'version', 'description']);
    expect(lines.find((l) => l.startsWith('opsauto-DeleteVolume '))).toMatch(/^opsauto-DeleteVolume\s+opsauto\s+Deletes an unattached EBS volume\.$/);
    expect(lines.find((l) => l.startsWith('AWS-StopEC2Instance '))).toMatch(/^AWS-StopEC2Instance\s+Amazon\s+1$/);
    expect(lines.find((l) => l.startsWith('Team-Restart '))).toMatch(/^Team-Restart\s+Self\s+1\s+Restart the team app$/);
    expect(json.map((d) => d.owner)).toEqual([...json.filter((d) => d.owner === 'opsauto'), ...json.filter((d) => d.owner === 'Amazon'), ...json.filter((d) => d.owner === 'Self')].map((d) => d.owner));
    expect(json.filter((d) => d.owner === 'opsauto').map((d) => d.name)).toContain('opsauto-SnapshotThenDeleteVolume');
    expect(json.some((d) => d.name === 'Team-Command')).toBe(false);
    expect(own.map((d) => d.name)).toEqual(['Team-Restart']);
    const wrong = await opsautoFails('runbook', 'docs', '--owner', 'Nobody');
    expect(wrong.stderr).toContain('--owner: Nobody is not one of opsauto, Amazon, Self');
  });
});
