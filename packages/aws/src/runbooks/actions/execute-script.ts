import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { ActionFailure, ActionTimedOut, MAX_EXECUTE_SCRIPT_SECONDS, PYTHON_SCRIPT_RUNTIMES, type ActionContext, type ActionResult } from '@opsauto/core';
import { named } from '../aws-api.js';
import { runbookSessionName } from '../action-runner.js';
import { nothingToPoll, type ActionEnv } from './action-module.js';

/** What the runner (packages/functions/python/execute_script/handler.py) answers. */
interface RunnerAnswer {
  Payload?: unknown;
  Error?: { Type?: string; Message?: string; Line?: number | null };
  TimedOut?: boolean;
  Logs?: string;
}

/** The end of the script's output quoted in a failure message. */
const LOG_EXCERPT_CHARS = 1000;
/** How much of the script's exception message, or of a value the step was given, a failure message quotes. */
const MESSAGE_CHARS = 1000;

/** A value quoted in a message: JSON, cut to `max` characters. */
function quoted(value: unknown, max = 60): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * aws:executeScript: invokes the runner function (with the backend's own credentials, which may invoke only it)
 * with the step's Runtime, Handler, Script and InputPayload, the execution's role (which the runner assumes, so the
 * script's boto3 acts as that role) and the time left before the step's timeout (at most 600 s). Outputs Payload (what
 * the handler returned, also what output selectors `$.Payload…` read) and ExecutionLog (what it printed). An exception
 * fails the step with its type and message; a script still running at the timeout ends the step TimedOut. A resumed
 * attempt runs the script again: it cannot know what the script did.
 */
export async function start(inputs: Record<string, unknown>, context: ActionContext, env: ActionEnv): Promise<ActionResult> {
  const { Runtime, Handler, Script, InputPayload } = inputs;
  if (typeof Runtime !== 'string' || !(PYTHON_SCRIPT_RUNTIMES as readonly string[]).includes(Runtime)) {
    throw new ActionFailure(`Runtime must be one of ${PYTHON_SCRIPT_RUNTIMES.join(', ')} (PowerShell scripts are not supported), not ${quoted(Runtime)}`);
  }
  if (typeof Handler !== 'string' || Handler === '') throw new ActionFailure('Handler must name the function in Script to call');
  if (typeof Script !== 'string') throw new ActionFailure('Script must be the Python script (inline)');
  const payload = inputPayload(InputPayload);
  if (!env.executeScriptFunction) throw new ActionFailure('aws:executeScript needs the script runner function, and this worker has none (EXECUTE_SCRIPT_FUNCTION is not set)');
  if (!context.assumeRole) throw new ActionFailure("aws:executeScript runs the script as the execution's role, and this execution has none (assumeRole)");
  const left = context.deadline ? Math.floor((context.deadline.getTime() - context.now().getTime()) / 1000) : MAX_EXECUTE_SCRIPT_SECONDS;
  const timeoutSeconds = Math.min(MAX_EXECUTE_SCRIPT_SECONDS, left);
  if (timeoutSeconds <= 0) throw new ActionTimedOut('Step timed out before the script could start');

  const lambda = env.ownClients.get(LambdaClient);
  const request = {
    Runtime,
    Handler,
    Script,
    InputPayload: payload,
    RoleArn: context.assumeRole,
    RoleSessionName: runbookSessionName(context.executionId),
    TimeoutSeconds: timeoutSeconds,
    Region: context.region,
    ExecutionId: context.executionId,
    StepName: context.stepName,
  };
  const out = await named('Invoke', () => lambda.send(new InvokeCommand({ FunctionName: env.executeScriptFunction, LogType: 'Tail', Payload: new TextEncoder().encode(JSON.stringify(request)) })));
  const text = out.Payload ? new TextDecoder().decode(out.Payload) : 'null';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`the script runner answered something that is not JSON: ${quoted(text.slice(0, 200), 200)}`);
  }
  const isObject = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  if (out.FunctionError) {
    const error = (isObject ? parsed : {}) as { errorType?: unknown; errorMessage?: unknown };
    const message = typeof error.errorMessage === 'string' ? error.errorMessage : text;
    throw new Error(`the script runner failed (${out.FunctionError}): ${cut(typeof error.errorType === 'string' ? error.errorType : 'Error', 100)}: ${cut(message, MESSAGE_CHARS)}${runnerLogExcerpt(out.LogResult, typeof error.errorMessage === 'string' ? error.errorMessage : undefined)}`);
  }
  if (!isObject) throw new Error(`the script runner answered ${quoted(parsed, 200)}, not an object`);
  const answer = parsed as RunnerAnswer;
  const log = typeof answer.Logs === 'string' ? answer.Logs : '';
  if (answer.TimedOut) throw new ActionTimedOut(`Step timed out after ${context.timeoutSeconds ?? timeoutSeconds} seconds: the script was still running${excerpt(log)}`);
  if (typeof answer.Error === 'object' && answer.Error !== null) {
    const line = typeof answer.Error.Line === 'number' ? ` (script line ${answer.Error.Line})` : '';
    throw new ActionFailure(`${cut(typeof answer.Error.Type === 'string' ? answer.Error.Type : 'Error', 100)}: ${cut(typeof answer.Error.Message === 'string' ? answer.Error.Message : JSON.stringify(answer.Error.Message ?? ''), MESSAGE_CHARS)}${line}${excerpt(log)}`);
  }
  const result = answer.Payload ?? null;
  return { kind: 'done', outputs: { Payload: result, ExecutionLog: log }, response: { Payload: result } };
}

export const poll = nothingToPoll('aws:executeScript');

/** The InputPayload the handler receives as `events`: a mapping (a JSON text is read), `{}` when absent. */
function inputPayload(value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value === 'string') {
    try {
      return inputPayload(JSON.parse(value));
    } catch {
      throw new ActionFailure('InputPayload must be a mapping of names to values');
    }
  }
  if (typeof value !== 'object' || Array.isArray(value)) throw new ActionFailure('InputPayload must be a mapping of names to values');
  return value as Record<string, unknown>;
}

/**
 * The end of the runner's own log (Invoke's LogType Tail: the last 4 KB, base64) without Lambda's START/END/REPORT
 * lines and the lines repeating the error: what the runtime wrote when it crashed (a traceback, exit's message),
 * which the error payload lacks.
 */
function runnerLogExcerpt(logResult: string | undefined, errorMessage: string | undefined): string {
  if (!logResult) return '';
  const lines = Buffer.from(logResult, 'base64')
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !/^(START|END|REPORT) RequestId: /.test(line) && !(errorMessage && line.includes(errorMessage)));
  const text = lines.join('\n').trim();
  if (!text) return '';
  return `; the runner's log: ${text.length > LOG_EXCERPT_CHARS ? `…${text.slice(-LOG_EXCERPT_CHARS)}` : text}`;
}

function excerpt(log: string): string {
  const trimmed = log.trimEnd();
  if (!trimmed) return '';
  return `; the script printed: ${trimmed.length > LOG_EXCERPT_CHARS ? `…${trimmed.slice(-LOG_EXCERPT_CHARS)}` : trimmed}`;
}

/** The first `max` characters of a text, marked when cut. */
function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}
