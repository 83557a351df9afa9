import {
  DeleteRuleCommand,
  DescribeRuleCommand,
  DisableRuleCommand,
  EnableRuleCommand,
  EventBridgeClient,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  type PutEventsRequestEntry,
  type Target,
} from '@aws-sdk/client-eventbridge';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Localcloud } from '@opsauto/localcloud';
import { clientConfig, startTestCloud } from '../helpers/localcloud.js';
import { errorOf } from '../helpers/errors.js';

const ACCOUNT = '000000000000';
const fnArn = (name: string, region = 'us-east-1') => `arn:aws:lambda:${region}:${ACCOUNT}:function:${name}`;
const PATTERN = JSON.stringify({ source: ['opsauto.test'], 'detail-type': ['Thing Happened'] });
const entry = (detail: object = { n: 1 }): PutEventsRequestEntry => ({ Source: 'opsauto.test', DetailType: 'Thing Happened', Detail: JSON.stringify(detail) });

describe('localcloud EventBridge', () => {
  let cloud: Localcloud;
  let events: EventBridgeClient;
  /** What each registered function received, in order. */
  let received: Record<string, unknown[]>;

  const register = (name: string, fail = false) => {
    received[name] = [];
    cloud.lambda.register({
      name,
      handler: (event) => {
        received[name].push(event);
        return fail ? Promise.reject(new Error('boom')) : Promise.resolve(undefined);
      },
    });
  };
  const ruleWithTarget = async (name: string, target: Partial<Target> = {}, client = events) => {
    await client.send(new PutRuleCommand({ Name: name, EventPattern: PATTERN }));
    await client.send(new PutTargetsCommand({ Rule: name, Targets: [{ Id: 't1', Arn: fnArn('handler'), ...target }] }));
  };

  beforeEach(async () => {
    cloud = await startTestCloud();
    events = new EventBridgeClient(clientConfig(cloud));
    received = {};
    register('handler');
  });
  afterEach(async () => {
    events.destroy();
    await cloud.stop();
  });

  describe('PutRule and PutTargets', () => {
    it('delivers a matching event to the Lambda function a target names', async () => {
      const { RuleArn } = await events.send(new PutRuleCommand({ Name: 'on-thing', EventPattern: PATTERN, Description: 'test rule' }));
      await events.send(new PutTargetsCommand({ Rule: 'on-thing', Targets: [{ Id: 'fn', Arn: fnArn('handler') }] }));

      const out = await events.send(new PutEventsCommand({ Entries: [entry({ n: 1 }), { ...entry(), DetailType: 'Other' }] }));
      await cloud.settle();

      expect(RuleArn).toBe(`arn:aws:events:us-east-1:${ACCOUNT}:rule/on-thing`);
      expect(out.FailedEntryCount).toBe(0);
      expect(received.handler).toHaveLength(1);
      expect(received.handler[0]).toMatchObject({ source: 'opsauto.test', 'detail-type': 'Thing Happened', account: ACCOUNT, region: 'us-east-1', detail: { n: 1 } });
      expect(cloud.bus.recent.at(-2)?.matchedRules).toEqual(['on-thing']);
    });

    it('rejects a malformed event pattern with InvalidEventPatternException', async () => {
      const bad = await errorOf(events.send(new PutRuleCommand({ Name: 'bad', EventPattern: JSON.stringify({ source: 'not-an-array' }) })));
      const notJson = await errorOf(events.send(new PutRuleCommand({ Name: 'bad', EventPattern: '{source' })));

      expect(bad.name).toBe('InvalidEventPatternException');
      expect(bad.message).toMatch(/^Event pattern is not valid\. Reason: /);
      expect(notJson.name).toBe('InvalidEventPatternException');
    });

    it('requires an event pattern or a schedule expression, and a valid schedule', async () => {
      expect(await errorOf(events.send(new PutRuleCommand({ Name: 'empty' })))).toEqual({
        name: 'ValidationException',
        message: 'Parameter(s) EventPattern or ScheduleExpression must be specified.',
      });
      expect(await errorOf(events.send(new PutRuleCommand({ Name: 'sched', ScheduleExpression: 'at(2030-01-01T00:00:00)' })))).toEqual({
        name: 'ValidationException',
        message: 'Parameter ScheduleExpression is not valid.',
      });
    });

    it('knows only the default bus', async () => {
      const err = await errorOf(events.send(new PutRuleCommand({ Name: 'r', EventPattern: PATTERN, EventBusName: 'custom' })));
      expect(err).toEqual({ name: 'ResourceNotFoundException', message: 'Event bus custom does not exist.' });
      const byArn = await events.send(new PutRuleCommand({ Name: 'r', EventPattern: PATTERN, EventBusName: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/default` }));
      expect(byArn.RuleArn).toContain(':rule/r');
    });

    it('answers ResourceNotFoundException for targets of a rule that does not exist', async () => {
      const err = await errorOf(events.send(new PutTargetsCommand({ Rule: 'missing', Targets: [{ Id: 'a', Arn: fnArn('handler') }] })));
      expect(err).toEqual({ name: 'ResourceNotFoundException', message: 'Rule missing does not exist on EventBus default.' });
    });

    it('allows five targets per rule and refuses a sixth with LimitExceededException', async () => {
      await events.send(new PutRuleCommand({ Name: 'many', EventPattern: PATTERN }));
      const five = Array.from({ length: 5 }, (_, i) => ({ Id: `t${i}`, Arn: fnArn('handler') }));
      await events.send(new PutTargetsCommand({ Rule: 'many', Targets: five }));

      const err = await errorOf(events.send(new PutTargetsCommand({ Rule: 'many', Targets: [{ Id: 't5', Arn: fnArn('handler') }] })));
      // Replacing an existing target id is not a new target.
      await events.send(new PutTargetsCommand({ Rule: 'many', Targets: [{ Id: 't0', Arn: fnArn('handler'), Input: '{"replaced":true}' }] }));

      expect(err.name).toBe('LimitExceededException');
      const { Targets } = await events.send(new ListTargetsByRuleCommand({ Rule: 'many' }));
      expect(Targets).toHaveLength(5);
      expect(Targets?.find((t) => t.Id === 't0')?.Input).toBe('{"replaced":true}');
    });

    it('refuses more than one of Input, InputPath and InputTransformer on a target', async () => {
      await events.send(new PutRuleCommand({ Name: 'r', EventPattern: PATTERN }));
      const err = await errorOf(events.send(new PutTargetsCommand({ Rule: 'r', Targets: [{ Id: 'a', Arn: fnArn('handler'), Input: '{}', InputPath: '$.detail' }] })));
      expect(err).toEqual({ name: 'ValidationException', message: 'Only one of Input, InputPath, or InputTransformer must be provided for target a.' });
    });

    it('hands a target its Input, InputPath or InputTransformer instead of the event', async () => {
      register('constant');
      register('path');
      register('shaped');
      await events.send(new PutRuleCommand({ Name: 'inputs', EventPattern: PATTERN }));
      await events.send(
        new PutTargetsCommand({
          Rule: 'inputs',
          Targets: [
            { Id: 'constant', Arn: fnArn('constant'), Input: '{"fixed":true}' },
            { Id: 'path', Arn: fnArn('path'), InputPath: '$.detail.volume' },
            { Id: 'shaped', Arn: fnArn('shaped'), InputTransformer: { InputPathsMap: { id: '$.detail.volume.id', src: '$.source' }, InputTemplate: '{"volume":"<id>","from":"<src>","rule":"<aws.events.rule-name>"}' } },
          ],
        }),
      );

      await events.send(new PutEventsCommand({ Entries: [entry({ volume: { id: 'vol-1', size: 8 } })] }));
      await cloud.settle();

      expect(received.constant).toEqual([{ fixed: true }]);
      expect(received.path).toEqual([{ id: 'vol-1', size: 8 }]);
      expect(received.shaped).toEqual([{ volume: 'vol-1', from: 'opsauto.test', rule: 'inputs' }]);
    });

    it('records a matched event for a target that is not a function', async () => {
      await ruleWithTarget('to-sns', { Id: 'topic', Arn: `arn:aws:sns:us-east-1:${ACCOUNT}:alerts` });

      const out = await events.send(new PutEventsCommand({ Entries: [entry()] }));

      expect(cloud.bus.undelivered).toEqual([{ rule: 'to-sns', targetId: 'topic', arn: `arn:aws:sns:us-east-1:${ACCOUNT}:alerts`, eventId: out.Entries?.[0]?.EventId }]);
    });

    it('retries a failing target function as an asynchronous invocation and keeps the failure', async () => {
      register('flaky', true);
      await ruleWithTarget('to-flaky', { Arn: fnArn('flaky') });

      await events.send(new PutEventsCommand({ Entries: [entry()] }));
      await cloud.settle();
      await cloud.advance('5m');

      expect(received.flaky).toHaveLength(3);
      expect(cloud.lambda.failures.map((f) => f.function)).toEqual(['flaky']);
    });
  });

  describe('rule state and lifecycle', () => {
    it('does not deliver to a disabled rule, and delivers again once enabled', async () => {
      await ruleWithTarget('toggle');
      await events.send(new DisableRuleCommand({ Name: 'toggle' }));
      await events.send(new PutEventsCommand({ Entries: [entry({ n: 1 })] }));
      const disabled = await events.send(new DescribeRuleCommand({ Name: 'toggle' }));
      await events.send(new EnableRuleCommand({ Name: 'toggle' }));
      await events.send(new PutEventsCommand({ Entries: [entry({ n: 2 })] }));
      await cloud.settle();

      expect(disabled.State).toBe('DISABLED');
      expect(received.handler.map((e) => (e as { detail: { n: number } }).detail.n)).toEqual([2]);
    });

    it('describes a rule, and answers ResourceNotFoundException for one that does not exist', async () => {
      await events.send(new PutRuleCommand({ Name: 'described', EventPattern: PATTERN, Description: 'why' }));
      const out = await events.send(new DescribeRuleCommand({ Name: 'described' }));
      expect(out).toMatchObject({ Name: 'described', EventPattern: PATTERN, State: 'ENABLED', Description: 'why', EventBusName: 'default', CreatedBy: ACCOUNT });
      expect((await errorOf(events.send(new DescribeRuleCommand({ Name: 'nope' })))).name).toBe('ResourceNotFoundException');
    });

    it('refuses to delete a rule that has targets; deletes it once they are removed', async () => {
      await ruleWithTarget('doomed');
      const err = await errorOf(events.send(new DeleteRuleCommand({ Name: 'doomed' })));
      await events.send(new RemoveTargetsCommand({ Rule: 'doomed', Ids: ['t1', 'not-there'] }));
      await events.send(new DeleteRuleCommand({ Name: 'doomed' }));
      // Deleting a rule that no longer exists succeeds, as in EventBridge.
      await events.send(new DeleteRuleCommand({ Name: 'doomed' }));

      expect(err).toEqual({ name: 'ValidationException', message: "Rule can't be deleted since it has targets." });
      expect((await events.send(new ListRulesCommand({}))).Rules).toEqual([]);
    });

    it('lists rules by name prefix, a page at a time', async () => {
      for (const name of ['ops-c', 'ops-a', 'other', 'ops-b']) await events.send(new PutRuleCommand({ Name: name, EventPattern: PATTERN }));

      const first = await events.send(new ListRulesCommand({ NamePrefix: 'ops-', Limit: 2 }));
      const second = await events.send(new ListRulesCommand({ NamePrefix: 'ops-', Limit: 2, NextToken: first.NextToken }));

      expect(first.Rules?.map((r) => r.Name)).toEqual(['ops-a', 'ops-b']);
      expect(second.Rules?.map((r) => r.Name)).toEqual(['ops-c']);
      expect(second.NextToken).toBeUndefined();
      expect(second.Rules?.[0]).toMatchObject({ Arn: `arn:aws:events:us-east-1:${ACCOUNT}:rule/ops-c`, State: 'ENABLED', EventPattern: PATTERN, EventBusName: 'default' });
      expect((await errorOf(events.send(new ListRulesCommand({ NextToken: 'garbage' })))).name).toBe('ValidationException');
      expect((await errorOf(events.send(new ListRulesCommand({ Limit: 101 })))).name).toBe('ValidationException');
    });

    it('fires a scheduled rule on the virtual clock with a Scheduled Event', async () => {
      await events.send(new PutRuleCommand({ Name: 'hourly', ScheduleExpression: 'rate(1 hour)' }));
      await events.send(new PutTargetsCommand({ Rule: 'hourly', Targets: [{ Id: 'fn', Arn: fnArn('handler') }] }));

      await cloud.advance('3h');

      expect(received.handler).toHaveLength(3);
      expect(received.handler[0]).toMatchObject({ source: 'aws.events', 'detail-type': 'Scheduled Event', resources: [`arn:aws:events:us-east-1:${ACCOUNT}:rule/hourly`], detail: {} });
    });
  });

  describe('regions and accounts', () => {
    it('delivers an API rule only the events of its own region', async () => {
      const eu = new EventBridgeClient(clientConfig(cloud, 'eu-west-1'));
      await ruleWithTarget('eu-only', {}, eu);

      await events.send(new PutEventsCommand({ Entries: [entry({ from: 'us' })] }));
      await eu.send(new PutEventsCommand({ Entries: [entry({ from: 'eu' })] }));
      await cloud.settle();

      expect(received.handler.map((e) => (e as { region: string }).region)).toEqual(['eu-west-1']);
      expect((await events.send(new ListRulesCommand({}))).Rules).toEqual([]);
      eu.destroy();
    });

    it('delivers a stage rule of no region from every region, and a stage rule of one region from that region only', async () => {
      register('anywhere');
      register('home');
      cloud.bus.putRule({ name: 'stage-any', pattern: JSON.parse(PATTERN) as Record<string, unknown>, targets: ['anywhere'] });
      cloud.bus.putRule({ name: 'stage-home', pattern: JSON.parse(PATTERN) as Record<string, unknown>, targets: ['home'], region: 'us-east-1' });
      const eu = new EventBridgeClient(clientConfig(cloud, 'eu-west-1'));

      await events.send(new PutEventsCommand({ Entries: [entry()] }));
      await eu.send(new PutEventsCommand({ Entries: [entry()] }));
      await cloud.settle();

      expect(received.anywhere).toHaveLength(2);
      expect(received.home.map((e) => (e as { region: string }).region)).toEqual(['us-east-1']);
      eu.destroy();
    });
  });

  describe('PutEvents validation', () => {
    it('refuses an empty request and more than 10 entries with ValidationException', async () => {
      expect((await errorOf(events.send(new PutEventsCommand({ Entries: [] })))).name).toBe('ValidationException');
      const eleven = Array.from({ length: 11 }, () => entry());
      expect((await errorOf(events.send(new PutEventsCommand({ Entries: eleven })))).name).toBe('ValidationException');
    });

    it('refuses a request whose entries add up to more than 256 KB', async () => {
      const big = { Source: 'opsauto.test', DetailType: 'Big', Detail: JSON.stringify({ pad: 'x'.repeat(130 * 1024) }) };
      const ok = await events.send(new PutEventsCommand({ Entries: [big] }));
      const err = await errorOf(events.send(new PutEventsCommand({ Entries: [big, big] })));

      expect(ok.FailedEntryCount).toBe(0);
      expect(err).toEqual({ name: 'ValidationException', message: 'Total size of the entries in the request is over the limit.' });
    });

    it('fails bad entries one by one and delivers the rest', async () => {
      const out = await events.send(
        new PutEventsCommand({
          Entries: [
            entry(),
            { DetailType: 'x', Detail: '{}' },
            { Source: 'opsauto.test', DetailType: 'x', Detail: 'not json' },
            { Source: 'opsauto.test', DetailType: 'x', Detail: '[1,2]' },
            { Source: 'aws.ec2', DetailType: 'EC2 Instance State-change Notification', Detail: '{}' },
            { Source: 'opsauto.test', DetailType: 'x'.repeat(129), Detail: '{}' },
            { ...entry(), EventBusName: 'custom' },
          ],
        }),
      );

      expect(out.FailedEntryCount).toBe(6);
      expect(out.Entries?.[0]?.EventId).toBeTruthy();
      expect(out.Entries?.slice(1).map((e) => e.ErrorCode)).toEqual(['InvalidArgument', 'MalformedDetail', 'MalformedDetail', 'NotAuthorizedForSourceException', 'InvalidArgument', 'ResourceNotFoundException']);
      expect(out.Entries?.[1]?.ErrorMessage).toBe('Parameter Source is not valid. Reason: Source is a required argument.');
    });
  });
});
