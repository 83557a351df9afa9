import { AwsClients } from '@opsauto/aws';
import { AWS_ACTION_MODULES, AWS_ACTIONS, AwsActionRunner, isAwsAction, loadAwsAction } from '@opsauto/aws/runbooks';
import { SUPPORTED_ACTIONS, type ActionContext } from '@opsauto/core';
import { describe, expect, it } from 'vitest';

/** The actions the engine runs itself (packages/core/src/runbooks/engine.ts): every other supported one is AWS's. */
const ENGINE_ACTIONS = ['aws:branch', 'aws:sleep', 'aws:pause', 'aws:approve', 'aws:executeAutomation'];

const context: ActionContext = { executionId: 'e-1', stepName: 'step', attempt: 1, accountId: '000000000000', region: 'us-east-1', idempotencyToken: 'e-1:0:1', now: () => new Date(0) };

describe('AWS action registry', () => {
  it('has one module for every supported action the engine does not run itself', () => {
    // Prepare
    const expected = SUPPORTED_ACTIONS.filter((a) => !ENGINE_ACTIONS.includes(a)).sort();
    // Act
    const keys = Object.keys(AWS_ACTION_MODULES).sort();
    // Assess
    expect(keys).toEqual(expected);
    expect([...AWS_ACTIONS].sort()).toEqual(expected);
    expect(ENGINE_ACTIONS.filter(isAwsAction)).toEqual([]);
  });

  it('loads a module with start and poll for each action when asked for it', async () => {
    // Act
    const modules = await Promise.all(AWS_ACTIONS.map((a) => loadAwsAction(a)));
    // Assess
    for (const m of modules) {
      expect(typeof m.start).toBe('function');
      expect(typeof m.poll).toBe('function');
    }
  });

  it('rejects with an error naming the action and the known ones when the action is not an AWS action', async () => {
    // Act
    const loading = loadAwsAction('aws:nope');
    // Assess
    await expect(loading).rejects.toThrow(/^aws:nope is not an AWS action the runner knows \(aws:executeAwsApi, .*aws:runCommand, aws:executeScript, aws:invokeLambdaFunction\)$/);
  });

  it('rejects a step of an unknown action through the runner without calling AWS when started or polled', async () => {
    // Prepare
    const runner = new AwsActionRunner(new AwsClients('us-east-1', { endpoint: 'http://127.0.0.1:9', maxAttempts: 1 }));
    // Act
    const started = runner.start('aws:sleep', {}, context);
    const polled = runner.poll('aws:nope', {}, null, context);
    // Assess
    await expect(started).rejects.toThrow('aws:sleep is not an AWS action the runner knows');
    await expect(polled).rejects.toThrow('aws:nope is not an AWS action the runner knows');
  });

  it.each(['aws:executeAwsApi', 'aws:assertAwsResourceProperty', 'aws:deleteImage', 'aws:createTags'] as const)('rejects a poll of %s, which ends when it is started', async (action) => {
    // Prepare
    const runner = new AwsActionRunner(new AwsClients('us-east-1', { endpoint: 'http://127.0.0.1:9', maxAttempts: 1 }));
    // Act
    const polled = runner.poll(action, {}, null, context);
    // Assess
    await expect(polled).rejects.toThrow(`${action} ends when it is started: there is nothing to poll`);
  });
});
