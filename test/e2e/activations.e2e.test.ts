import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DescribeActivationsCommand, DescribeInstanceInformationCommand, ListTagsForResourceCommand, SSMClient } from '@aws-sdk/client-ssm';
import { defineConfig } from '@opsauto/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../packages/cli/src/project.js';
import { startStage, type Stage } from '../../packages/cli/src/stage.js';
import { cliAgainst } from '../helpers/cli.js';
import { clientConfig } from '../helpers/localcloud.js';

// Hybrid activations on the local stage, as an operator and booting servers use them: a token from the CLI, the
// boot script and plain HTTP calls to the stage's API (:3000 in `npm start`), activations in localcloud, a node
// registering, the token used up and revoked, a retry with the same idempotency key, and the clean-up sweep.

const run = promisify(execFile);
const SCRIPT = join(projectRoot, 'scripts/register-node.sh');

let stage: Stage;
let ssm: SSMClient;
let dir: string;
let token: string;
let tokenId: string;
/** Everything the CLI printed after `tokens create`, and what the API answered: no token or code may appear in it. */
const { opsauto, printed } = cliAgainst(() => stage.cloud.url);
const codes: string[] = [];

/** A booting server's call, as the simplest boot script makes it. */
async function activate(hostname: string, idempotencyKey?: string, bearer = token) {
  const res = await fetch(`${stage.apiUrl}/activations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', 'user-agent': 'e2e-boot/1' },
    body: JSON.stringify({ hostname, ...(idempotencyKey ? { idempotencyKey } : {}) }),
  });
  const body = (await res.json()) as Record<string, string>;
  if (body.activationCode) codes.push(body.activationCode);
  return { status: res.status, body };
}

beforeAll(async () => {
  stage = await startStage({ config: defineConfig({ regions: ['us-east-1'] }), port: 0, apiPort: 0, seed: false, tickMs: 0, functionLogLevel: 'SILENT' });
  ssm = new SSMClient(clientConfig(stage.cloud));
  dir = mkdtempSync(join(tmpdir(), 'activations-e2e-'));
  const created = JSON.parse(await opsauto('--json', 'tokens', 'create', '--name', 'rack-7', '--max-uses', '2', '--name-prefix', 'rack7-', '--tag', 'env=onprem')) as { id: string; token: string };
  // The one output that holds the token.
  printed.length = 0;
  ({ token, id: tokenId } = created);
}, 120_000);
afterAll(async () => {
  ssm?.destroy();
  await stage?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('hybrid activations on the local stage', () => {
  it('a server booting with the script gets an activation and its agent registers with it', async () => {
    // Prepare: the server's disk (token file, machine id) and an agent that registers with localcloud.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(dir, 'token'), `${token}\n`);
    writeFileSync(join(dir, 'machine-id'), 'e2e-machine-1\n');
    writeFileSync(
      join(bin, 'amazon-ssm-agent'),
      [
        '#!/bin/sh',
        'while [ $# -gt 0 ]; do case $1 in -code) code=$2; shift ;; -id) id=$2; shift ;; -region) region=$2; shift ;; esac; shift; done',
        'out=$(curl -s -X POST "$LOCALCLOUD_URL/_localcloud/ssm/register" --data "{\\"activationId\\":\\"$id\\",\\"activationCode\\":\\"$code\\",\\"region\\":\\"$region\\",\\"hostname\\":\\"rack7-db-01\\"}") || exit 1',
        'case $out in *instanceId*) ;; *) exit 1 ;; esac',
        'printf "%s" "$out" > "$OPSAUTO_SSM_REGISTRATION_FILE"',
      ].join('\n'),
    );
    chmodSync(join(bin, 'amazon-ssm-agent'), 0o755);

    // Act
    const { stdout, stderr } = await run('sh', [SCRIPT], {
      env: {
        PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`,
        OPSAUTO_API: stage.apiUrl,
        OPSAUTO_TOKEN_FILE: join(dir, 'token'),
        OPSAUTO_HOSTNAME: 'rack7-db-01',
        OPSAUTO_MACHINE_ID_FILE: join(dir, 'machine-id'),
        OPSAUTO_SSM_REGISTRATION_FILE: join(dir, 'registration'),
        OPSAUTO_AGENT_RESTART: 'true',
        LOCALCLOUD_URL: stage.cloud.url,
      },
    });
    printed.push(stdout, stderr);

    // Assess: one activation for the host in localcloud, and a managed node registered through it.
    const { ActivationList } = await ssm.send(new DescribeActivationsCommand({}));
    expect(ActivationList?.map((a) => [a.DefaultInstanceName, a.RegistrationLimit, a.RegistrationsCount])).toEqual([['rack7-db-01', 1, 1]]);
    const { InstanceInformationList } = await ssm.send(new DescribeInstanceInformationCommand({}));
    expect(InstanceInformationList?.map((n) => n.ActivationId)).toEqual([ActivationList![0].ActivationId]);
  });

  it('uses the token up, refuses the next server, and gives a retry with the same key the same activation', async () => {
    // Act
    const second = await activate('rack7-web-01', 'web-01-boot');
    const third = await activate('rack7-web-02');
    const retry = await activate('rack7-web-01', 'web-01-boot');
    const outside = await activate('rack8-web-01');

    // Assess
    expect(second).toMatchObject({ status: 200, body: { instanceName: 'rack7-web-01', region: 'us-east-1' } });
    expect(third).toMatchObject({ status: 403, body: { error: 'TokenExhausted' } });
    expect(retry).toEqual(second);
    expect(outside.status).toBe(403);
    const tokens = JSON.parse(await opsauto('--json', 'tokens', 'list')) as { id: string; uses: number; maxUses: number }[];
    expect(tokens.find((t) => t.id === tokenId)).toMatchObject({ uses: 2, maxUses: 2 });
    const { ActivationList } = await ssm.send(new DescribeActivationsCommand({}));
    expect(ActivationList?.map((a) => a.DefaultInstanceName).sort()).toEqual(['rack7-db-01', 'rack7-web-01']);
  });

  it('refuses a revoked token, a wrong one, and a malformed body with JSON errors', async () => {
    // Act
    await opsauto('tokens', 'revoke', tokenId);
    const revoked = await activate('rack7-web-03');
    const wrong = await activate('rack7-web-03', undefined, `${tokenId}.${'A'.repeat(43)}`);
    const malformed = await fetch(`${stage.apiUrl}/activations`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: '{"hostname":' });

    // Assess
    expect(revoked).toMatchObject({ status: 403, body: { error: 'TokenRevoked' } });
    expect(wrong).toMatchObject({ status: 401, body: { error: 'InvalidToken' } });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: 'InvalidRequest' });
  });

  it('lists what was issued, and the sweep tags the registered node and deletes its used activation', async () => {
    // Act: past the activations' life (1 h), so that the hourly sweep has run.
    await stage.cloud.advance('2h');
    const issued = JSON.parse(await opsauto('--json', 'activations', 'list', '--token', tokenId)) as { hostname: string; sourceIp: string; managedNodeId?: string; deletedAt?: string }[];

    // Assess
    expect(issued.map((i) => [i.hostname, i.sourceIp, Boolean(i.deletedAt)]).sort()).toEqual([
      ['rack7-db-01', '127.0.0.1', true],
      ['rack7-web-01', '127.0.0.1', true],
    ]);
    const node = issued.find((i) => i.hostname === 'rack7-db-01')!.managedNodeId!;
    expect(node).toMatch(/^mi-/);
    const { TagList } = await ssm.send(new ListTagsForResourceCommand({ ResourceType: 'ManagedInstance', ResourceId: node }));
    expect(Object.fromEntries((TagList ?? []).map((t) => [t.Key, t.Value]))).toMatchObject({ env: 'onprem', 'opsauto:hostname': 'rack7-db-01', 'opsauto:token': 'rack-7' });
    expect((await ssm.send(new DescribeActivationsCommand({}))).ActivationList).toEqual([]);
  });

  it('never printed the token or an activation code after the token was created', () => {
    expect(codes.length).toBeGreaterThan(0);
    const all = printed.join('\n');
    for (const secret of [token, token.split('.')[1], ...codes]) expect(all.includes(secret)).toBe(false);
  });
});
