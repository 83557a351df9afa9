import { CreateActivationCommand, DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newToken } from '@opsauto/core';
import type { Localcloud } from '@opsauto/localcloud';
import { clientConfig, removeDir, startTestCloud } from '../helpers/localcloud.js';

/*
 * Runs scripts/register-node.sh with `sh` (dash on Debian) as a booting server would, against a small HTTP server
 * that answers like POST /activations (scripted statuses), with a fake `hostname` and a fake SSM Agent on PATH; the
 * fake agent registers with localcloud the way the real one registers with SSM.
 */

const SCRIPT = join(import.meta.dirname, '../../scripts/register-node.sh');
const HOSTNAME = 'rack7-db-01.dc1.example';
const MACHINE_ID = '4c1a1b2e9d0f4e6b8a7c5d3e2f1a0b9c';

let cloud: Localcloud;
let ssm: SSMClient;
let api: Server;
let apiUrl: string;
const dirs: string[] = [];

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** A 200 with a new activation created in localcloud. */
  activation?: true;
}
let answers: Answer[] = [];
let requests: { method?: string; url?: string; headers: IncomingHttpHeaders; body: Record<string, unknown> }[] = [];
const issued: { activationId: string; activationCode: string }[] = [];

/** The API: answers the scripted statuses in order (a 500 when none is left). */
function startApi(): Promise<string> {
  api = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      void (async () => {
        requests.push({ method: req.method, url: req.url, headers: req.headers, body: JSON.parse(raw || '{}') as Record<string, unknown> });
        const answer = answers.shift() ?? { status: 500, body: { error: 'InternalError', message: 'no answer scripted' } };
        let body = answer.body;
        if (answer.activation) {
          const out = await ssm.send(new CreateActivationCommand({ IamRole: 'opsauto-test-hybrid-node', DefaultInstanceName: 'rack7-db-01.dc1.example', RegistrationLimit: 1 }));
          issued.push({ activationId: out.ActivationId!, activationCode: out.ActivationCode! });
          body = { activationId: out.ActivationId, activationCode: out.ActivationCode, region: 'us-east-1', expiresAt: '2027-01-01T01:00:00.000Z', instanceName: 'rack7-db-01.dc1.example' };
        }
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(JSON.stringify(body));
      })();
    });
  });
  return new Promise((resolve) => api.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(api.address() as AddressInfo).port}`)));
}

/** A server's disk: a token file, a machine id, a bin directory with `hostname` and the agent, the agent's state. */
function server(machineId = MACHINE_ID) {
  const dir = mkdtempSync(join(tmpdir(), 'register-node-'));
  dirs.push(dir);
  const token = newToken().token;
  writeFileSync(join(dir, 'token'), `${token}\n`);
  writeFileSync(join(dir, 'machine-id'), `${machineId}\n`);
  const bin = join(dir, 'bin');
  const tool = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  mkdirSync(bin);
  tool('hostname', `echo ${HOSTNAME}`);
  // The agent: records its arguments, registers with localcloud, writes its registration file.
  tool(
    'amazon-ssm-agent',
    [
      'printf "%s\\n" "$@" > "$FAKE_AGENT_ARGS"',
      'while [ $# -gt 0 ]; do case $1 in -code) code=$2; shift ;; -id) id=$2; shift ;; -region) region=$2; shift ;; esac; shift; done',
      'out=$(curl -s -X POST "$LOCALCLOUD_URL/_localcloud/ssm/register" --data "{\\"activationId\\":\\"$id\\",\\"activationCode\\":\\"$code\\",\\"region\\":\\"$region\\",\\"hostname\\":\\"$(hostname)\\"}") || exit 1',
      'case $out in *instanceId*) ;; *) echo "registration failed" >&2; exit 1 ;; esac',
      'printf "%s" "$out" > "$OPSAUTO_SSM_REGISTRATION_FILE"',
    ].join('\n'),
  );
  return { dir, token, tokenFile: join(dir, 'token'), registration: join(dir, 'registration'), args: join(dir, 'agent-args'), restarts: join(dir, 'restarts') };
}

/** Runs the script with `sh` and only the environment given (plus PATH with the fake tools first). */
function run(s: ReturnType<typeof server>, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'sh',
      [SCRIPT],
      {
        env: {
          PATH: `${join(s.dir, 'bin')}:/usr/local/bin:/usr/bin:/bin`,
          OPSAUTO_API: apiUrl,
          OPSAUTO_TOKEN_FILE: s.tokenFile,
          OPSAUTO_MACHINE_ID_FILE: join(s.dir, 'machine-id'),
          OPSAUTO_SSM_REGISTRATION_FILE: s.registration,
          OPSAUTO_AGENT_RESTART: `echo restarted >> '${s.restarts}'`,
          OPSAUTO_RETRY_BASE_SECONDS: '0',
          FAKE_AGENT_ARGS: s.args,
          LOCALCLOUD_URL: cloud.url,
          ...env,
        },
      },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  cloud = await startTestCloud();
  ssm = new SSMClient(clientConfig(cloud));
  apiUrl = await startApi();
});
afterAll(async () => {
  api.close();
  ssm.destroy();
  await cloud.stop();
  for (const dir of dirs) await removeDir(dir);
});

describe('scripts/register-node.sh', () => {
  it('retries a 503, registers the agent with the activation it gets, restarts it, removes the token file, and prints no secret', async () => {
    // Prepare
    answers = [{ status: 503, body: { error: 'ServiceUnavailable', message: 'SSM is unavailable; retry' }, headers: { 'retry-after': '0' } }, { status: 200, activation: true }];
    requests = [];
    const s = server();

    // Act
    const out = await run(s);

    // Assess
    expect(out.code, out.stderr).toBe(0);
    expect(requests).toHaveLength(2);
    const { activationId, activationCode } = issued.at(-1)!;
    for (const r of requests) {
      expect(r).toMatchObject({ method: 'POST', url: '/activations', body: { hostname: HOSTNAME, idempotencyKey: requests[0].body.idempotencyKey } });
      expect(r.headers).toMatchObject({ authorization: `Bearer ${s.token}`, 'content-type': 'application/json', 'user-agent': 'opsauto-register-node/1' });
    }
    expect(requests[0].body.idempotencyKey).toMatch(/^[0-9a-f]{64}$/);
    expect(requests[0].body.idempotencyKey).not.toContain(MACHINE_ID);
    expect(readFileSync(s.args, 'utf8').trim().split('\n')).toEqual(['-register', '-code', activationCode, '-id', activationId, '-region', 'us-east-1']);
    expect(readFileSync(s.restarts, 'utf8')).toBe('restarted\n');
    expect(existsSync(s.tokenFile)).toBe(false);
    const nodes = await ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'ActivationIds', Values: [activationId] }] }));
    expect(nodes.InstanceInformationList?.map((n) => [n.ComputerName, n.Name])).toEqual([[HOSTNAME, HOSTNAME]]);
    expect(out.stderr).toContain('attempt 1 of 8: HTTP 503 ServiceUnavailable; retrying in 0s');
    expect(out.stderr).toContain(`registered ${HOSTNAME} with activation ${activationId}`);
    for (const secret of [s.token, s.token.split('.')[1], activationCode]) expect(out.stdout + out.stderr).not.toContain(secret);
  });

  it('exits 0 without calling the API when the agent is already registered', async () => {
    // Prepare
    answers = [{ status: 200, activation: true }];
    requests = [];
    const s = server();
    writeFileSync(s.registration, '{"ManagedInstanceID":"mi-0123456789abcdef0","Region":"us-east-1"}');

    // Act
    const out = await run(s);

    // Assess
    expect(out.code).toBe(0);
    expect(requests).toEqual([]);
    expect(existsSync(s.args)).toBe(false);
    expect(out.stderr).toContain('already registered');
    answers = [];
  });

  it('sends the same idempotency key when run again on the same machine after the agent failed, and another on another machine', async () => {
    // Prepare
    answers = [
      { status: 200, activation: true },
      { status: 200, activation: true },
      { status: 200, activation: true },
    ];
    requests = [];
    const first = server();
    const other = server('0f0e0d0c0b0a09080706050403020100');

    // Act: the agent cannot register (localcloud unreachable), then it can.
    const failed = await run(first, { LOCALCLOUD_URL: 'http://127.0.0.1:9' });
    const keptToken = existsSync(first.tokenFile);
    const retried = await run(first);
    await run(other);

    // Assess
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("the SSM Agent's registration failed");
    expect(keptToken).toBe(true);
    expect(retried.code, retried.stderr).toBe(0);
    expect(existsSync(first.tokenFile)).toBe(false);
    const keys = requests.map((r) => r.body.idempotencyKey);
    expect(keys[0]).toBe(keys[1]);
    expect(keys[2]).not.toBe(keys[0]);
  });

  it('exits 3 on a 403 after one call, with the API error and no agent registration', async () => {
    // Prepare
    answers = [{ status: 403, body: { error: 'TokenRevoked', message: 'the enrollment token was revoked' } }];
    requests = [];
    const s = server();

    // Act
    const out = await run(s);

    // Assess
    expect(out.code).toBe(3);
    expect(requests).toHaveLength(1);
    expect(out.stderr).toContain('the opsauto API refused: HTTP 403 TokenRevoked: the enrollment token was revoked');
    expect(existsSync(s.args)).toBe(false);
    expect(existsSync(s.tokenFile)).toBe(true);
    expect(out.stderr).not.toContain(s.token);
  });

  it('gives up after OPSAUTO_MAX_ATTEMPTS when the API cannot be reached, and on 429s', async () => {
    // Prepare
    const s = server();
    answers = [
      { status: 429, body: { error: 'TooManyRequests', message: 'slow down' } },
      { status: 429, body: { error: 'TooManyRequests', message: 'slow down' } },
    ];
    requests = [];

    // Act
    const unreachable = await run(s, { OPSAUTO_API: 'http://127.0.0.1:9', OPSAUTO_MAX_ATTEMPTS: '3' });
    const throttled = await run(s, { OPSAUTO_MAX_ATTEMPTS: '2' });

    // Assess
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('attempt 2 of 3: no answer');
    expect(unreachable.stderr).toContain('did not issue an activation after 3 attempts');
    expect(throttled.code).toBe(1);
    expect(requests).toHaveLength(2);
    expect(throttled.stderr).toContain('after 2 attempts: HTTP 429 TooManyRequests');
  });

  it('exits 2 naming the setting when the API URL is missing or the token is malformed, without printing the token', async () => {
    // Prepare
    const s = server();
    requests = [];

    // Act
    const noApi = await run(s, { OPSAUTO_API: '' });
    const badToken = await run(s, { OPSAUTO_TOKEN: 'not-a-token-secret-value' });
    const badAttempts = await run(s, { OPSAUTO_MAX_ATTEMPTS: 'many' });

    // Assess
    expect([noApi.code, badToken.code, badAttempts.code]).toEqual([2, 2, 2]);
    expect(noApi.stderr).toContain('OPSAUTO_API is not set');
    expect(badToken.stderr).toContain('the enrollment token is malformed');
    expect(badToken.stderr).not.toContain('not-a-token-secret-value');
    expect(badAttempts.stderr).toContain("OPSAUTO_MAX_ATTEMPTS must be a whole number, not 'many'");
    expect(requests).toEqual([]);
  });
});
