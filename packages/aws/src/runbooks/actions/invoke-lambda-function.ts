import { InvokeCommand, LambdaClient, type InvocationType, type LogType } from '@aws-sdk/client-lambda';
import { ActionFailure, type ActionContext, type ActionResult } from '@opsauto/core';
import { named } from '../aws-api.js';
import { nothingToPoll, type ActionEnv } from './action-module.js';

/**
 * aws:invokeLambdaFunction: Lambda Invoke as the execution's role, in the execution's region. InputPayload (a
 * mapping, sent as JSON) wins over Payload (a JSON text, sent as is); ClientContext is sent base64-encoded, as the API
 * wants it. Outputs StatusCode, FunctionError, LogResult, ExecutedVersion and Payload (the function's answer, as
 * text). A function error (X-Amz-Function-Error) fails the step with the function's error message. A resumed attempt
 * invokes the function again.
 */
export async function start(inputs: Record<string, unknown>, context: ActionContext, env: ActionEnv): Promise<ActionResult> {
  const { FunctionName, Qualifier, InvocationType: type, LogType: log, ClientContext, Payload, InputPayload } = inputs;
  if (typeof FunctionName !== 'string' || FunctionName === '') throw new ActionFailure('FunctionName must name a Lambda function');
  if (type !== undefined && type !== 'Event' && type !== 'RequestResponse' && type !== 'DryRun') throw new ActionFailure('InvocationType must be Event, RequestResponse or DryRun');
  if (log !== undefined && log !== 'None' && log !== 'Tail') throw new ActionFailure('LogType must be None or Tail');
  let body: string | undefined;
  if (InputPayload !== undefined && InputPayload !== null) {
    if (typeof InputPayload !== 'object' || Array.isArray(InputPayload)) throw new ActionFailure('InputPayload must be a mapping of names to values');
    body = JSON.stringify(InputPayload);
  } else if (Payload !== undefined) {
    body = typeof Payload === 'string' ? Payload : JSON.stringify(Payload);
  }
  const lambda = (await env.clientsFor(context)).get(LambdaClient, context.region);
  const out = await named('Invoke', () =>
    lambda.send(
      new InvokeCommand({
        FunctionName,
        ...(typeof Qualifier === 'string' ? { Qualifier } : {}),
        ...(type ? { InvocationType: type as InvocationType } : {}),
        ...(log ? { LogType: log as LogType } : {}),
        ...(typeof ClientContext === 'string' ? { ClientContext: Buffer.from(ClientContext, 'utf8').toString('base64') } : {}),
        ...(body !== undefined ? { Payload: new TextEncoder().encode(body) } : {}),
      }),
    ),
  );
  const payload = out.Payload ? new TextDecoder().decode(out.Payload) : '';
  if (out.FunctionError) {
    let message = payload;
    try {
      const error = JSON.parse(payload) as { errorType?: string; errorMessage?: string };
      message = [error.errorType, error.errorMessage].filter(Boolean).join(': ') || payload;
    } catch {
      // not JSON: the payload as it came
    }
    throw new ActionFailure(`Lambda function ${FunctionName} failed (${out.FunctionError}): ${message.slice(0, 2000)}`);
  }
  const outputs: Record<string, unknown> = { StatusCode: out.StatusCode ?? 0, Payload: payload };
  if (out.LogResult !== undefined) outputs.LogResult = out.LogResult;
  if (out.ExecutedVersion !== undefined) outputs.ExecutedVersion = out.ExecutedVersion;
  return { kind: 'done', outputs, response: outputs };
}

export const poll = nothingToPoll('aws:invokeLambdaFunction');
