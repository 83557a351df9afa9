import type { AwsClients } from '@opsauto/aws';
import { loadAwsAction } from '@opsauto/aws/runbooks';
import { ActionFailure, PYTHON_SCRIPT_RUNTIMES, type ActionContext } from '@opsauto/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HUGE } from '../../../helpers/hostile.js';

/**
 * aws:executeScript's worker side under hostile input, without Python: generated step inputs (wrong types, 1 MB
 * strings, PowerShell, nested values) and generated runner answers (not JSON, null, arrays, errors with 1 MB messages
 * and odd types, huge logs, timeouts). Every case either ends the step `done` with the runner's Payload, or fails it
 * with a message naming what is wrong, never longer than MAX_MESSAGE characters and never a TypeError or
 * RangeError from our own code. Seeded: HOSTILE_SEED replays, HOSTILE_RUNS widens.
 */

const SEED = Number(process.env.HOSTILE_SEED ?? 1414);
const RUNS = Number(process.env.HOSTILE_RUNS ?? 200);
/** A failure message quotes at most 1,000 characters of the exception and 1,000 of the log, plus its own words. */
const MAX_MESSAGE = 2_400;

const context: ActionContext = {
  executionId: 'e-1',
  stepName: 'Script',
  attempt: 1,
  accountId: '000000000000',
  region: 'us-east-1',
  idempotencyToken: 'e-1:0:1',
  now: () => new Date(0),
  assumeRole: 'arn:aws:iam::000000000000:role/opsauto-test-runbook',
};

const hostileValue = fc.oneof(
  fc.constant(HUGE),
  fc.constant(null),
  fc.integer(),
  fc.string({ maxLength: 20 }),
  fc.constant({ __proto__: { polluted: true } }),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.jsonValue({ maxDepth: 3 }),
);

const inputs = fc.record(
  {
    Runtime: fc.oneof(fc.constantFrom(...PYTHON_SCRIPT_RUNTIMES), fc.constantFrom('PowerShell 7.4', 'python3.12', 'python3.11 '), hostileValue),
    Handler: fc.oneof(fc.constant('script_handler'), hostileValue),
    Script: fc.oneof(fc.constant('def script_handler(events, context):\n    return {}\n'), hostileValue),
    InputPayload: fc.oneof(fc.constant(undefined), fc.constant('{"a":1}'), fc.constant('{not json'), hostileValue),
  },
  { requiredKeys: [] },
);

/** What the runner function answers: its Payload text, and Lambda's FunctionError and LogResult. */
const answers = fc.oneof(
  fc.record({ Payload: fc.jsonValue({ maxDepth: 3 }), Logs: fc.oneof(fc.string({ maxLength: 50 }), fc.constant(HUGE), fc.integer()) }).map((a) => ({ text: JSON.stringify(a) })),
  fc
    .record({ Type: fc.oneof(fc.string({ maxLength: 30 }), fc.constant(HUGE), fc.integer(), fc.constant(null)), Message: fc.oneof(fc.string(), fc.constant(HUGE), fc.jsonValue({ maxDepth: 2 })), Line: fc.oneof(fc.integer(), fc.constant(null), fc.string()) })
    .map((Error) => ({ text: JSON.stringify({ Error, Logs: HUGE }) })),
  fc.constant({ text: JSON.stringify({ TimedOut: true, Logs: HUGE }) }),
  fc.constantFrom('null', '[]', '"text"', '42', '{not json', HUGE).map((text) => ({ text })),
  fc
    .record({ errorType: fc.oneof(fc.string({ maxLength: 30 }), fc.constant(HUGE), fc.integer()), errorMessage: fc.oneof(fc.string(), fc.constant(HUGE), fc.constant(null)) })
    .map((e) => ({ text: JSON.stringify(e), functionError: 'Unhandled', log: Buffer.from(`START RequestId: x\n${HUGE}\nEND RequestId: x\n`).toString('base64') })),
  fc.constantFrom('null', '[1]', HUGE).map((text) => ({ text, functionError: 'Unhandled' })),
);

function envAnswering(answer: { text: string; functionError?: string; log?: string }) {
  const sent: unknown[] = [];
  const lambda = {
    send: (command: { input: { Payload: Uint8Array } }) => {
      sent.push(JSON.parse(new TextDecoder().decode(command.input.Payload)));
      return Promise.resolve({ Payload: new TextEncoder().encode(answer.text), FunctionError: answer.functionError, LogResult: answer.log });
    },
  };
  const ownClients = { get: () => lambda } as unknown as AwsClients;
  return { sent, env: { ownClients, clientsFor: () => Promise.resolve(ownClients), waiting: () => ({ kind: 'done' as const }), executeScriptFunction: 'runner' } };
}

describe('aws:executeScript under hostile inputs and runner answers', () => {
  it('ends done with the Payload, or fails with a bounded message naming what is wrong', async () => {
    const action = await loadAwsAction('aws:executeScript');
    await fc.assert(
      fc.asyncProperty(inputs, answers, async (given, answer) => {
        const { sent, env } = envAnswering(answer);
        const outcome = await action.start(given, context, env).then(
          (result) => ({ ok: true as const, result }),
          (error: unknown) => ({ ok: false as const, error: error as Error }),
        );
        const validInputs =
          typeof given.Runtime === 'string' &&
          (PYTHON_SCRIPT_RUNTIMES as readonly string[]).includes(given.Runtime) &&
          typeof given.Handler === 'string' &&
          given.Handler !== '' &&
          typeof given.Script === 'string';
        if (!outcome.ok) {
          expect(outcome.error).toBeInstanceOf(Error);
          expect(outcome.error.name, outcome.error.message).not.toMatch(/^(TypeError|RangeError|ReferenceError|SyntaxError)$/);
          expect(outcome.error.message.length).toBeLessThanOrEqual(MAX_MESSAGE);
          // Refused before the runner was called, naming the input; or the runner's own failure.
          if (sent.length === 0) expect(outcome.error).toBeInstanceOf(ActionFailure);
          if (!validInputs) expect(outcome.error.message).toMatch(/^(Runtime|Handler|Script|InputPayload) must /);
        } else {
          expect(validInputs).toBe(true);
          expect(outcome.result).toMatchObject({ kind: 'done' });
          expect(sent).toHaveLength(1);
        }
        expect('polluted' in Object.prototype).toBe(false);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
