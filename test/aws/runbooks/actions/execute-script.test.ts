import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsClients } from '@opsauto/aws';
import { loadAwsAction } from '@opsauto/aws/runbooks';
import type { ActionContext } from '@opsauto/core';
import type { Localcloud } from '@opsauto/localcloud';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientConfig, startTestCloud } from '../../../helpers/localcloud.js';

// aws:executeScript's worker side against a runner that crashes (the Lambda runtime exits): the step's failure says
// what the runtime wrote, read from Invoke's LogType Tail, not only Lambda's "exit status 1".

const roleArn = 'arn:aws:iam::000000000000:role/opsauto-test-runbook-cli';
const context: ActionContext = { executionId: 'e-1', stepName: 'Script', attempt: 1, accountId: '000000000000', region: 'us-east-1', idempotencyToken: 'e-1:0:1', now: () => new Date(0), assumeRole: roleArn };
const inputs = { Runtime: 'python3.11', Handler: 'script_handler', Script: 'def script_handler(events, context):\n    return {}\n' };

describe('aws:executeScript when the runner itself fails', () => {
  let cloud: Localcloud;
  beforeAll(async () => {
    cloud = await startTestCloud();
    const dir = mkdtempSync(join(tmpdir(), 'opsauto-crashing-runner-'));
    writeFileSync(join(dir, 'crash.py'), "import sys\n\ndef handler(event, context):\n    print('runner: about to fail')\n    sys.exit('Failed to describe SSM Document doc-1: not found')\n");
    cloud.registerPython({ name: 'crashing-runner', runtime: 'python3.12', codeDirectory: dir, handler: 'crash.handler', roleArn, timeoutSeconds: 30 });
  });
  afterAll(async () => {
    await cloud.stop();
  });

  it("fails the step with Lambda's error and what the runtime wrote before it exited", async () => {
    // Prepare
    const action = await loadAwsAction('aws:executeScript');
    const ownClients = new AwsClients('us-east-1', clientConfig(cloud));
    const env = { ownClients, clientsFor: () => Promise.resolve(ownClients), waiting: () => ({ kind: 'done' as const }), executeScriptFunction: 'crashing-runner' };
    // Act
    const started = action.start(inputs, context, env);
    // Assess
    await expect(started).rejects.toThrow(/^the script runner failed \(Unhandled\): Runtime\.ExitError: RequestId: \S+ Error: Runtime exited with error: exit status 1; the runner's log: runner: about to fail\nFailed to describe SSM Document doc-1: not found$/);
  });
});
