import { paginateListCommandInvocations, paginateListCommands, SendCommandCommand, SSMClient, ListCommandsCommand, type Command, type CommandInvocation, type SendCommandCommandInput } from '@aws-sdk/client-ssm';
import { ActionFailure, type ActionContext, type ActionResult, type JsonValue } from '@opsauto/core';
import { named } from '../aws-api.js';
import type { ActionEnv } from './action-module.js';
import { stringList } from './action-inputs.js';

/** Command statuses after which nothing changes (CommandStatus in the SSM API). */
const TERMINAL = new Set(['Success', 'Cancelled', 'Failed', 'TimedOut']);
/** How far back a resumed start looks for the command its interrupted run sent. */
const LOOK_BACK_MS = 86_400_000;
/** SendCommand's Comment is at most 100 characters. */
const MAX_COMMENT = 100;
/** How much of each node's output a failure message quotes. */
const QUOTED_OUTPUT = 300;

/** The mark a command carries in its Comment: a resumed attempt finds the command it sent by it. */
export function commandMark(token: string): string {
  return `[opsauto:${token}]`;
}

/** The Comment sent: the step's own (cut to fit) and the attempt's mark. */
function commentWith(given: unknown, token: string): string {
  const mark = commandMark(token);
  const text = typeof given === 'string' ? given.trim() : '';
  if (!text) return mark;
  return `${text.slice(0, Math.max(0, MAX_COMMENT - mark.length - 1))} ${mark}`;
}

/** A text input (MaxConcurrency, DocumentVersion …), which a Integer parameter may carry as a number. */
function textInput(value: unknown, name: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  throw new ActionFailure(`${name} must be text`);
}

/** SendCommand takes every parameter as a list of strings; a document may give a scalar or a list. */
function commandParameters(value: unknown): Record<string, string[]> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new ActionFailure('Parameters must be a mapping of parameter names to values');
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, (Array.isArray(v) ? v : [v]).map((x) => (typeof x === 'string' ? x : JSON.stringify(x)))]),
  );
}

/**
 * aws:runCommand: sends the command once (a resumed start finds the command its interrupted run sent, by the mark in
 * its Comment) and follows it until its status is final. Outputs CommandId and Status, and for a single node its
 * ResponseCode and Output. A command that does not end Success fails the step naming each node that did not succeed.
 */
export async function start(inputs: Record<string, unknown>, context: ActionContext, env: ActionEnv): Promise<ActionResult> {
  const ssm = (await env.clientsFor(context)).get(SSMClient, context.region);
  const documentName = String(inputs.DocumentName);
  const sent = await sentEarlier(ssm, documentName, context);
  if (sent) return progressOf(ssm, sent, context, env);
  const params: SendCommandCommandInput = {
    DocumentName: documentName,
    ...(inputs.DocumentVersion !== undefined ? { DocumentVersion: textInput(inputs.DocumentVersion, 'DocumentVersion') } : {}),
    ...(inputs.DocumentHash !== undefined ? { DocumentHash: textInput(inputs.DocumentHash, 'DocumentHash'), DocumentHashType: inputs.DocumentHashType as SendCommandCommandInput['DocumentHashType'] } : {}),
    ...(inputs.InstanceIds !== undefined ? { InstanceIds: stringList(inputs.InstanceIds, 'InstanceIds') } : {}),
    ...(inputs.Targets !== undefined ? { Targets: inputs.Targets as SendCommandCommandInput['Targets'] } : {}),
    ...(inputs.Parameters !== undefined ? { Parameters: commandParameters(inputs.Parameters) } : {}),
    ...(inputs.TimeoutSeconds !== undefined ? { TimeoutSeconds: Number(inputs.TimeoutSeconds) } : {}),
    ...(inputs.MaxConcurrency !== undefined ? { MaxConcurrency: textInput(inputs.MaxConcurrency, 'MaxConcurrency') } : {}),
    ...(inputs.MaxErrors !== undefined ? { MaxErrors: textInput(inputs.MaxErrors, 'MaxErrors') } : {}),
    Comment: commentWith(inputs.Comment, context.idempotencyToken),
  };
  const out = await named('SendCommand', () => ssm.send(new SendCommandCommand(params)));
  const commandId = out.Command?.CommandId;
  if (!commandId) throw new Error('SendCommand returned no command id');
  return env.waiting(context, { commandId });
}

export async function poll(inputs: Record<string, unknown>, state: JsonValue, context: ActionContext, env: ActionEnv): Promise<ActionResult> {
  const commandId = (state as { commandId?: unknown } | null)?.commandId;
  if (typeof commandId !== 'string') return start(inputs, context, env);
  const ssm = (await env.clientsFor(context)).get(SSMClient, context.region);
  const out = await named('ListCommands', () => ssm.send(new ListCommandsCommand({ CommandId: commandId })));
  const command = out.Commands?.[0];
  if (!command) throw new ActionFailure(`command ${commandId} is gone`);
  return progressOf(ssm, command, context, env);
}

/** The command this attempt sent before it was interrupted, if any (same document, the attempt's mark). */
async function sentEarlier(ssm: SSMClient, documentName: string, context: ActionContext): Promise<Command | undefined> {
  const mark = commandMark(context.idempotencyToken);
  const after = new Date(context.now().getTime() - LOOK_BACK_MS).toISOString();
  return named('ListCommands', async () => {
    const filters = [
      { key: 'DocumentName' as const, value: documentName },
      { key: 'InvokedAfter' as const, value: after },
    ];
    for await (const page of paginateListCommands({ client: ssm }, { Filters: filters })) {
      const found = page.Commands?.find((c) => c.Comment?.includes(mark));
      if (found) return found;
    }
    return undefined;
  });
}

async function progressOf(ssm: SSMClient, command: Command, context: ActionContext, env: ActionEnv): Promise<ActionResult> {
  const commandId = command.CommandId!;
  if (!TERMINAL.has(command.Status ?? '')) return env.waiting(context, { commandId });
  const invocations: CommandInvocation[] = [];
  await named('ListCommandInvocations', async () => {
    for await (const page of paginateListCommandInvocations({ client: ssm }, { CommandId: commandId, Details: true })) invocations.push(...(page.CommandInvocations ?? []));
  });
  const outputs: Record<string, unknown> = { CommandId: commandId, Status: command.Status };
  if (invocations.length === 1) {
    const [only] = invocations;
    outputs.ResponseCode = responseCode(only);
    outputs.Output = outputOf(only);
  }
  if (command.Status === 'Success') return { kind: 'done', outputs };
  const others = invocations.filter((i) => i.StatusDetails !== 'Success');
  const nodes = others.map((i) => {
    const code = responseCode(i);
    const text = outputOf(i).trim();
    return `${i.InstanceId} ${i.StatusDetails ?? i.Status}${code !== -1 && code !== 0 ? ` (ResponseCode ${code})` : ''}${text ? `: ${text.slice(0, QUOTED_OUTPUT)}` : ''}`;
  });
  throw new ActionFailure(`Command ${commandId} (${command.DocumentName}) ended ${command.Status} (${command.StatusDetails}) on ${command.TargetCount} node(s): ${nodes.join('; ') || 'no node ran it'}`);
}

/** The plugins that ran on the node: another platform's steps are skipped and say so in their output. */
const ranPlugins = (i: CommandInvocation) => (i.CommandPlugins ?? []).filter((p) => !(p.Output ?? '').startsWith('Step execution skipped'));

function responseCode(i: CommandInvocation): number {
  const codes = ranPlugins(i).map((p) => p.ResponseCode ?? -1);
  return codes.find((c) => c !== 0) ?? (codes.length > 0 ? 0 : -1);
}

function outputOf(i: CommandInvocation): string {
  return ranPlugins(i)
    .map((p) => p.Output ?? '')
    .filter(Boolean)
    .join('\n');
}
