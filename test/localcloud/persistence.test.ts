import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { createTestTable } from '../helpers/table.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateFileError, STATE_FORMAT, STATE_VERSION } from '../../packages/localcloud/src/store.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';

describe('localcloud persistence', () => {
  let dir: string;
  let stateFile: string;
  beforeEach(() => {
    // Prepare: a project folder with a .localcloud/ of its own, as `opsauto local` uses.
    dir = join(mkdtempSync(join(tmpdir(), 'localcloud-persist-')), '.localcloud');
    mkdirSync(dir);
    stateFile = join(dir, 'state.json');
  });
  afterEach(() => {
    rmSync(join(dir, '..'), { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  });

  /** Starting on a bad state file fails with StateFileError, and leaves the file byte for byte as it was. */
  async function refusedStart(content: string): Promise<StateFileError> {
    writeFileSync(stateFile, content);
    const before = statSync(stateFile).mtimeMs;
    const error = await startTestCloud({ dataDir: dir }).then(
      async (cloud) => {
        await cloud.stop();
        throw new Error('expected localcloud to refuse the state file');
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StateFileError);
    expect(readFileSync(stateFile, 'utf8')).toBe(content);
    expect(statSync(stateFile).mtimeMs).toBe(before);
    return error as StateFileError;
  }

  it('refuses a state file that is not JSON, naming the file and the way out', async () => {
    const err = await refusedStart('{"format":"localcloud-state", trunc');
    expect(err.message).toContain(stateFile);
    expect(err.message).toContain('is not valid JSON');
    expect(err.message).toContain('--fresh');
  });

  it('refuses a JSON file that is not a localcloud state file', async () => {
    const err = await refusedStart(JSON.stringify({ name: 'some other tool', version: 1 }));
    expect(err.message).toContain(`is not a localcloud state file (no "format": "${STATE_FORMAT}")`);
  });

  it('refuses a state file of an older version, saying so', async () => {
    const err = await refusedStart(JSON.stringify({ format: STATE_FORMAT, version: STATE_VERSION - 1, clockOffsetMs: 0, services: {} }));
    expect(err.message).toContain(`was written by an older localcloud (state version ${STATE_VERSION - 1}; this one reads version ${STATE_VERSION})`);
  });

  it('refuses a state file of a newer version, saying so', async () => {
    const err = await refusedStart(JSON.stringify({ format: STATE_FORMAT, version: STATE_VERSION + 1, clockOffsetMs: 0, services: {} }));
    expect(err.message).toContain('was written by a newer localcloud');
  });

  it('refuses a state file whose services are damaged', async () => {
    const err = await refusedStart(JSON.stringify({ format: STATE_FORMAT, version: STATE_VERSION, clockOffsetMs: 0, services: [] }));
    expect(err.message).toContain('is damaged');
  });

  it('starts empty with fresh over a bad state file, and writes a good one on stop', async () => {
    writeFileSync(stateFile, 'garbage');

    const cloud = await startTestCloud({ dataDir: dir, fresh: true });
    await cloud.stop();

    expect(cloud.restored).toBe(false);
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toMatchObject({ format: STATE_FORMAT, version: STATE_VERSION });
  });

  it('keeps parameters, EventBridge rules and the virtual clock across a restart, and re-arms scheduled rules', async () => {
    const first = await startTestCloud({ dataDir: dir });
    const ssm = new SSMClient(clientConfig(first, 'eu-west-1'));
    const events = new EventBridgeClient(clientConfig(first));
    await ssm.send(new PutParameterCommand({ Name: '/kept', Value: 'yes', Type: 'String' }));
    await events.send(new PutRuleCommand({ Name: 'daily', ScheduleExpression: 'rate(1 day)' }));
    await events.send(new PutTargetsCommand({ Rule: 'daily', Targets: [{ Id: 'fn', Arn: 'arn:aws:lambda:us-east-1:000000000000:function:tick' }] }));
    await first.advance('2h');
    const clockBefore = first.clock.offset;
    ssm.destroy();
    events.destroy();
    await first.stop();

    const second = await startTestCloud({ dataDir: dir });
    const ticks: unknown[] = [];
    second.lambda.register({ name: 'tick', handler: (e) => Promise.resolve(void ticks.push(e)) });
    const ssm2 = new SSMClient(clientConfig(second, 'eu-west-1'));
    await second.advance('2d');

    expect(second.restored).toBe(true);
    expect(second.clock.offset).toBeGreaterThanOrEqual(clockBefore);
    expect((await ssm2.send(new GetParameterCommand({ Name: '/kept' }))).Parameter?.Value).toBe('yes');
    expect(ticks).toHaveLength(2);
    ssm2.destroy();
    await second.stop();
  });

  it('keeps DynamoDB tables across a restart, and empties them with fresh and with reset', async () => {
    // Prepare: a table, persisted.
    let cloud = await startTestCloud({ dataDir: dir });
    const table = await createTestTable(cloud);
    await cloud.stop();
    const tables = async () => (await new DynamoDBClient(clientConfig(cloud)).send(new ListTablesCommand({}))).TableNames;
    // Act / Assess: a restart keeps it, --fresh drops it.
    cloud = await startTestCloud({ dataDir: dir });
    expect(await tables()).toEqual([table]);
    await cloud.stop();
    cloud = await startTestCloud({ dataDir: dir, fresh: true });
    expect(await tables()).toEqual([]);
    // Act / Assess: so does POST /_localcloud/reset.
    await createTestTable(cloud);
    expect(await fetch(`${cloud.url}/_localcloud/reset`, { method: 'POST' }).then((r) => r.status)).toBe(200);
    expect(await tables()).toEqual([]);
    await cloud.stop();
  });
});
