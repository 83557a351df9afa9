import {
  CreateEventBusCommand,
  DeleteEventBusCommand,
  DescribeEventBusCommand,
  EventBridgeClient,
  ListEventBusesCommand,
  PutEventsCommand,
  PutRuleCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { errorOf } from '../helpers/errors.js';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';

const ACCOUNT = '000000000000';
const PATTERN = { source: ['opsauto.test'], 'detail-type': ['Thing Happened'] };
const entry = (bus?: string): PutEventsRequestEntry => ({ Source: 'opsauto.test', DetailType: 'Thing Happened', Detail: '{"n":1}', ...(bus ? { EventBusName: bus } : {}) });

describe('localcloud EventBridge custom buses', () => {
  let cloud: Localcloud;
  let events: EventBridgeClient;
  let received: Record<string, unknown[]>;

  beforeEach(async () => {
    cloud = await startTestCloud();
    events = new EventBridgeClient(clientConfig(cloud));
    received = { onDefault: [], onCustom: [] };
    for (const name of ['onDefault', 'onCustom']) {
      cloud.lambda.register({ name, handler: (event) => Promise.resolve(void received[name].push(event)) });
    }
    cloud.bus.putRule({ name: 'default-rule', pattern: PATTERN, targets: ['onDefault'] });
    cloud.bus.putRule({ name: 'custom-rule', pattern: PATTERN, targets: ['onCustom'], bus: 'ops-bus' });
  });
  afterEach(async () => {
    events.destroy();
    await cloud.stop();
  });

  it('creates, describes, lists and deletes a bus when asked through the SDK', async () => {
    // Act
    const created = await events.send(new CreateEventBusCommand({ Name: 'ops-bus', Description: 'ours' }));
    const described = await events.send(new DescribeEventBusCommand({ Name: 'ops-bus' }));
    const listed = await events.send(new ListEventBusesCommand({}));
    await events.send(new DeleteEventBusCommand({ Name: 'ops-bus' }));
    const gone = await errorOf(events.send(new DescribeEventBusCommand({ Name: 'ops-bus' })));

    // Assess
    const arn = `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/ops-bus`;
    expect(created.EventBusArn).toBe(arn);
    expect(described).toMatchObject({ Name: 'ops-bus', Arn: arn, Description: 'ours' });
    expect(described.CreationTime).toBeInstanceOf(Date);
    expect(listed.EventBuses?.map((b) => b.Name)).toEqual(['default', 'ops-bus']);
    expect(gone).toEqual({ name: 'ResourceNotFoundException', message: 'Event bus ops-bus does not exist.' });
  });

  it('delivers an event put on a custom bus to that bus rules only, and a default-bus event to the default rules only', async () => {
    // Prepare
    await events.send(new CreateEventBusCommand({ Name: 'ops-bus' }));

    // Act
    const onCustom = await events.send(new PutEventsCommand({ Entries: [entry('ops-bus')] }));
    await cloud.settle();
    const afterCustom = { onDefault: received.onDefault.length, onCustom: received.onCustom.length };
    await events.send(new PutEventsCommand({ Entries: [entry()] }));
    await events.send(new PutEventsCommand({ Entries: [entry(`arn:aws:events:us-east-1:${ACCOUNT}:event-bus/ops-bus`)] }));
    await cloud.settle();

    // Assess
    expect(onCustom.FailedEntryCount).toBe(0);
    expect(afterCustom).toEqual({ onDefault: 0, onCustom: 1 });
    expect(received.onDefault).toHaveLength(1);
    expect(received.onCustom).toHaveLength(2);
    expect(cloud.bus.recent.map((e) => e.eventBusName)).toEqual(['ops-bus', 'default', 'ops-bus']);
  });

  it('refuses an entry for a bus that does not exist and delivers it nowhere', async () => {
    const out = await events.send(new PutEventsCommand({ Entries: [entry('nowhere')] }));
    await cloud.settle();

    expect(out.FailedEntryCount).toBe(1);
    expect(out.Entries?.[0]).toMatchObject({ ErrorCode: 'ResourceNotFoundException', ErrorMessage: 'Event bus nowhere does not exist.' });
    expect(received).toEqual({ onDefault: [], onCustom: [] });
  });

  it.each([
    ['an existing name', 'ops-bus', 'ResourceAlreadyExistsException', 'Event bus ops-bus already exists.'],
    ['the default bus', 'default', 'ValidationException', 'Event bus name must not be default.'],
    ['a name with a slash', 'a/b', 'ValidationException', "Event bus name must not contain '/'."],
    ['an invalid name', 'no spaces', 'ValidationException', /failed to satisfy constraint/],
  ])('refuses to create a bus with %s', async (_label, name, code, message) => {
    await events.send(new CreateEventBusCommand({ Name: 'ops-bus' }));

    const err = await errorOf(events.send(new CreateEventBusCommand({ Name: name })));

    expect(err.name).toBe(code);
    expect(err.message).toMatch(message);
  });

  it('refuses to delete the default bus', async () => {
    const err = await errorOf(events.send(new DeleteEventBusCommand({ Name: 'default' })));

    expect(err).toEqual({ name: 'ValidationException', message: 'Cannot delete event bus default.' });
  });

  it('says that API rules live on the default bus when PutRule names a custom bus', async () => {
    await events.send(new CreateEventBusCommand({ Name: 'ops-bus' }));

    const err = await errorOf(events.send(new PutRuleCommand({ Name: 'r', EventPattern: JSON.stringify(PATTERN), EventBusName: 'ops-bus' })));

    expect(err).toEqual({ name: 'ValidationException', message: 'localcloud keeps rules created through the API on the default bus only, not on ops-bus.' });
  });

  it('keeps a bus name such as __proto__ as data when it is created and used', async () => {
    await events.send(new CreateEventBusCommand({ Name: '__proto__' }));
    const out = await events.send(new PutEventsCommand({ Entries: [entry('__proto__')] }));

    expect(out.FailedEntryCount).toBe(0);
    expect(({} as Record<string, unknown>).name).toBeUndefined();
    expect((await events.send(new ListEventBusesCommand({}))).EventBuses?.map((b) => b.Name)).toEqual(['__proto__', 'default']);
  });
});
