import {
  EC2Client,
  paginateDescribeInstanceStatus,
  paginateDescribeInstances,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type InstanceStateChange,
  type InstanceStateName,
} from '@aws-sdk/client-ec2';
import { ActionFailure, type ActionContext, type ActionResult, type JsonValue } from '@opsauto/core';
import { named } from '../aws-api.js';
import type { ActionEnv } from './action-module.js';
import { chunks, flag, stringList } from './action-inputs.js';

/** EC2 takes at most this many instance ids in one DescribeInstanceStatus call; the other calls are chunked alike. */
const IDS_PER_CALL = 100;

/**
 * aws:changeInstanceState. Looks at the instances, asks EC2 for the changes still needed (none with
 * CheckStateOnly), and is done once every instance is in the desired state (for `running`, with its instance and
 * system status checks `ok`, as AWS's action waits for). Start and poll do the same, so a stopping instance is
 * started once it has stopped, a pending one stopped once it runs, and a resumed attempt asks for nothing already
 * asked.
 */
export function start(inputs: Record<string, unknown>, context: ActionContext, env: ActionEnv): Promise<ActionResult> {
  return changeInstanceState(inputs, context, env, 'start');
}

export function poll(inputs: Record<string, unknown>, _state: JsonValue, context: ActionContext, env: ActionEnv): Promise<ActionResult> {
  return changeInstanceState(inputs, context, env, 'poll');
}

async function changeInstanceState(inputs: Record<string, unknown>, context: ActionContext, env: ActionEnv, phase: 'start' | 'poll'): Promise<ActionResult> {
  const ids = [...new Set(stringList(inputs.InstanceIds, 'InstanceIds'))];
  const desired = inputs.DesiredState;
  if (desired !== 'running' && desired !== 'stopped' && desired !== 'terminated') throw new ActionFailure('DesiredState must be running, stopped or terminated');
  const checkOnly = flag(inputs.CheckStateOnly, 'CheckStateOnly');
  const force = flag(inputs.Force, 'Force');
  const failOnUnexpectedStopped = flag(inputs.FailOnUnexpectedStopped, 'FailOnUnexpectedStopped');
  const ec2 = (await env.clientsFor(context)).get(EC2Client, context.region);

  const states = await instanceStates(ec2, ids);
  for (const [id, state] of states) {
    if (desired !== 'terminated' && (state === 'shutting-down' || state === 'terminated')) {
      throw new ActionFailure(`instance ${id} is ${state}: it can no longer be ${desired}`);
    }
    // Stopped while the action waits for it to run: stopped by something else.
    if (desired === 'running' && failOnUnexpectedStopped && (checkOnly || phase === 'poll') && (state === 'stopping' || state === 'stopped')) {
      throw new ActionFailure(`instance ${id} is ${state} while it was to be running`);
    }
  }

  if (!checkOnly) {
    // Force is the way out of a stop that hangs (AWS-StopEC2Instance's second step): a stopping instance is stopped
    // again with Force, once, when the step starts.
    const needsCall = (state: InstanceStateName): boolean =>
      desired === 'running'
        ? state === 'stopped'
        : desired === 'stopped'
          ? state === 'running' || (force && phase === 'start' && state === 'stopping')
          : state !== 'shutting-down' && state !== 'terminated';
    const changing = ids.filter((id) => needsCall(states.get(id)!));
    for (const chunk of chunks(changing, IDS_PER_CALL)) {
      const changes: InstanceStateChange[] | undefined =
        desired === 'running'
          ? (await named('StartInstances', () => ec2.send(new StartInstancesCommand({ InstanceIds: chunk })))).StartingInstances
          : desired === 'stopped'
            ? (await named('StopInstances', () => ec2.send(new StopInstancesCommand({ InstanceIds: chunk, ...(force ? { Force: true } : {}) })))).StoppingInstances
            : (await named('TerminateInstances', () => ec2.send(new TerminateInstancesCommand({ InstanceIds: chunk })))).TerminatingInstances;
      for (const change of changes ?? []) {
        if (change.InstanceId && change.CurrentState?.Name) states.set(change.InstanceId, change.CurrentState.Name);
      }
    }
  }

  const notYet = ids.filter((id) => states.get(id) !== desired);
  if (notYet.length > 0) return env.waiting(context, null);
  if (desired === 'running' && !(await statusChecksOk(ec2, ids))) return env.waiting(context, null);
  return { kind: 'done' };
}

/** The state of each instance, by id. Unknown ids fail the call (InvalidInstanceID.NotFound), as they should. */
async function instanceStates(ec2: EC2Client, ids: string[]): Promise<Map<string, InstanceStateName>> {
  const states = new Map<string, InstanceStateName>();
  for (const chunk of chunks(ids, IDS_PER_CALL)) {
    await named('DescribeInstances', async () => {
      for await (const page of paginateDescribeInstances({ client: ec2 }, { InstanceIds: chunk })) {
        for (const instance of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
          if (instance.InstanceId && instance.State?.Name) states.set(instance.InstanceId, instance.State.Name);
        }
      }
    });
  }
  const missing = ids.filter((id) => !states.has(id));
  if (missing.length > 0) throw new ActionFailure(`DescribeInstances did not describe ${missing.join(', ')}`);
  return states;
}

/** Whether every instance's instance and system status checks are `ok`. */
async function statusChecksOk(ec2: EC2Client, ids: string[]): Promise<boolean> {
  const ok = new Set<string>();
  for (const chunk of chunks(ids, IDS_PER_CALL)) {
    await named('DescribeInstanceStatus', async () => {
      for await (const page of paginateDescribeInstanceStatus({ client: ec2 }, { InstanceIds: chunk, IncludeAllInstances: true })) {
        for (const status of page.InstanceStatuses ?? []) {
          if (status.InstanceId && status.InstanceStatus?.Status === 'ok' && status.SystemStatus?.Status === 'ok') ok.add(status.InstanceId);
        }
      }
    });
  }
  return ids.every((id) => ok.has(id));
}
