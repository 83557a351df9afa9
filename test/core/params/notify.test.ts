import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  anyEventBridgeEvent,
  defineConfig,
  handlePolicyAction,
  inPaths,
  InMemoryNoticeStore,
  noticeMessage,
  noticeSender,
  ownerOf,
  routeNotice,
  ValidationError,
  type Clock,
  type Deadline,
  type NoticePublisher,
  type OpsautoConfigInput,
  type ParameterCatalog,
  type ParameterSummary,
} from '@opsauto/core';

const DEFAULT = 'arn:aws:sns:us-east-1:123456789012:opsauto-test-notifications';
const ESCALATION = 'arn:aws:sns:us-east-1:123456789012:opsauto-test-escalations';
const PAYMENTS = 'arn:aws:sns:us-east-1:123456789012:payments-alerts';
const topics = { default: DEFAULT, escalation: ESCALATION };

const fixture = (): unknown =>
  JSON.parse(readFileSync(new URL('../../fixtures/events/community-copy__parameter-store-policy-action_NoChangeNotification.json', import.meta.url), 'utf8'));

const expiryConfig = (input: OpsautoConfigInput['parameterExpiry'] = {}) => defineConfig({ parameterExpiry: input }).parameterExpiry;

class TestClock implements Clock {
  constructor(public at: number) {}
  now() {
    return new Date(this.at);
  }
}

/** SNS as a list: every message published, and a switch to make the next publishes fail. */
class FakePublisher implements NoticePublisher {
  sent: { topic: string; subject: string; body: string; attributes?: Record<string, string> }[] = [];
  failing = false;
  publish(topic: string, message: { subject: string; body: string; attributes?: Record<string, string> }) {
    if (this.failing) return Promise.reject(new Error('SNS is down'));
    this.sent.push({ topic, ...message });
    return Promise.resolve({ messageId: `m-${this.sent.length}` });
  }
}

class FakeCatalog implements Pick<ParameterCatalog, 'describe' | 'tags'> {
  tagReads = 0;
  constructor(public parameters: Record<string, ParameterSummary & { tags: Record<string, string> }> = {}) {}
  describe(name: string) {
    const p = this.parameters[name];
    if (!p) return Promise.resolve(undefined);
    const copy: ParameterSummary = structuredClone(p);
    delete copy.tags;
    return Promise.resolve(copy);
  }
  tags(name: string) {
    this.tagReads++;
    return Promise.resolve({ ...(this.parameters[name]?.tags ?? {}) });
  }
}

const summary = (over: Partial<ParameterSummary> = {}): ParameterSummary => ({
  name: '/db/password',
  type: 'SecureString',
  tier: 'Advanced',
  version: 3,
  lastModifiedDate: '2026-12-01T00:00:00.000Z',
  policies: [
    { type: 'Expiration', expiresAt: '2027-03-01T00:00:00.000Z' },
    { type: 'ExpirationNotification', before: { amount: 15, unit: 'Days' } },
    { type: 'ExpirationNotification', before: { amount: 2, unit: 'Days' } },
  ],
  tags: { team: 'payments' },
  ...over,
});

const reminder = (dueAt: string, policy = 'notify 15d before expiry'): Deadline => ({
  parameter: '/db/password',
  kind: 'ExpirationNotification',
  source: 'policy',
  dueAt,
  expiresAt: '2027-03-01T00:00:00.000Z',
  policy,
});

function setup(at = '2027-02-14T00:00:00Z', input: OpsautoConfigInput['parameterExpiry'] = {}) {
  const clock = new TestClock(Date.parse(at));
  const store = new InMemoryNoticeStore();
  const publisher = new FakePublisher();
  const catalog = new FakeCatalog();
  const config = expiryConfig(input);
  const send = noticeSender({ store, publisher, catalog, config, topics, clock });
  return { clock, store, publisher, catalog, config, send };
}

describe('routeNotice and ownerOf', () => {
  const config = expiryConfig({ routes: [{ match: { tag: 'team', value: 'payments' }, topic: PAYMENTS }] });

  it('sends to the first route whose tag matches, else to the default topic', () => {
    expect(routeNotice({ team: 'payments' }, config, topics)).toBe(PAYMENTS);
    expect(routeNotice({ team: 'search' }, config, topics)).toBe(DEFAULT);
    expect(routeNotice({}, config, topics)).toBe(DEFAULT);
  });

  it("prefers the config's default topic to the stage's", () => {
    const own = 'arn:aws:sns:us-east-1:123456789012:ops';
    expect(routeNotice({}, expiryConfig({ defaultTopic: own }), topics)).toBe(own);
  });

  it('honours the topic tag before routes, but only for a topic notices may go to', () => {
    expect(routeNotice({ team: 'payments', 'opsauto:notify-topic': ESCALATION }, config, topics)).toBe(ESCALATION);
    expect(routeNotice({ team: 'search', 'opsauto:notify-topic': PAYMENTS }, config, topics)).toBe(PAYMENTS);
    // A topic of someone else's: the tag is not enough to receive notices.
    expect(routeNotice({ team: 'payments', 'opsauto:notify-topic': 'arn:aws:sns:us-east-1:999999999999:theirs' }, config, topics)).toBe(PAYMENTS);
    expect(routeNotice({ 'opsauto:notify-topic': 'not an arn' }, config, topics)).toBe(DEFAULT);
  });

  it('names the owner from the first owner tag present', () => {
    expect(ownerOf({ team: 'payments', owner: 'alice' }, ['owner', 'team'])).toEqual({ tag: 'owner', value: 'alice' });
    expect(ownerOf({ team: 'payments', owner: ' ' }, ['owner', 'team'])).toEqual({ tag: 'team', value: 'payments' });
    expect(ownerOf({}, ['owner', 'team'])).toBeUndefined();
  });
});

describe('noticeMessage', () => {
  it('says what, when, which policy, who owns it and how to rotate or extend it', () => {
    // Act
    const m = noticeMessage(reminder('2027-02-14T00:00:00.000Z'), summary({ lastModifiedUser: 'arn:aws:iam::123456789012:user/alice' }), expiryConfig());
    // Assess
    expect(m.subject).toBe('opsauto: /db/password expires 2027-03-01T00:00:00.000Z');
    expect(m.body).toContain('Parameter: /db/password');
    expect(m.body).toContain('What: expiry reminder (ExpirationNotification)');
    expect(m.body).toContain('Due: 2027-02-14T00:00:00.000Z');
    expect(m.body).toContain('Expires: 2027-03-01T00:00:00.000Z');
    expect(m.body).toContain('Policy: notify 15d before expiry');
    expect(m.body).toContain('Owner: payments (tag team)');
    expect(m.body).toContain('by arn:aws:iam::123456789012:user/alice');
    expect(m.body).toContain('opsauto params policy set /db/password --expires-in 90d');
    expect(m.body).toContain('aws ssm put-parameter --name /db/password --overwrite --type SecureString --value <new value>');
    expect(m.attributes).toEqual({ parameter: '/db/password', kind: 'ExpirationNotification', owner: 'payments' });
  });

  it('says a policy expiry deleted the parameter, and a tag expiry did not', () => {
    const expired = { parameter: '/db/password', kind: 'Expiration' as const, dueAt: '2027-03-01T00:00:00.000Z', expiresAt: '2027-03-01T00:00:00.000Z' };
    const byPolicy = noticeMessage({ ...expired, source: 'policy', policy: 'expires 2027-03-01T00:00:00.000Z' }, summary({ tags: {} }), expiryConfig());
    const byTag = noticeMessage({ ...expired, source: 'tag', policy: 'tag opsauto:expires-at=2027-03-01' }, summary({ tier: 'Standard' }), expiryConfig());
    expect(byPolicy.subject).toBe('opsauto: /db/password expired and was deleted by Parameter Store');
    expect(byPolicy.body).toContain('Owner: unknown (no owner or team tag)');
    expect(byPolicy.body).toContain('opsauto params notifications --expired');
    expect(byPolicy.body).not.toContain('--overwrite');
    expect(byTag.subject).toBe('opsauto: /db/password is past its expiry date');
    expect(byTag.body).toContain('Parameter Store does not delete it');
  });
});

describe('noticeSender', () => {
  it('publishes a notice once per parameter, kind and due time, to its routed topic, and records it sent', async () => {
    // Prepare
    const { send, store, publisher } = setup('2027-02-14T00:00:00Z', { routes: [{ match: { tag: 'team', value: 'payments' }, topic: PAYMENTS }] });
    // Act
    const first = await send(reminder('2027-02-14T00:00:00.000Z'), summary(), 'event');
    const again = await send(reminder('2027-02-14T00:00:00.000Z'), summary(), 'sweep');
    // Assess
    expect([first, again]).toEqual(['sent', 'duplicate']);
    expect(publisher.sent.map((m) => m.topic)).toEqual([PAYMENTS]);
    expect(await store.list({})).toEqual([
      {
        key: '/db/password#ExpirationNotification#2027-02-14T00:00:00.000Z',
        parameter: '/db/password',
        kind: 'ExpirationNotification',
        policy: 'notify 15d before expiry',
        dueAt: '2027-02-14T00:00:00.000Z',
        expiresAt: '2027-03-01T00:00:00.000Z',
        channel: PAYMENTS,
        status: 'sent',
        sentAt: '2027-02-14T00:00:00.000Z',
        via: 'event',
        messageId: 'm-1',
      },
    ]);
  });

  it('releases the claim when the publish fails, so that a retry sends it', async () => {
    // Prepare
    const { send, store, publisher } = setup();
    publisher.failing = true;
    // Act
    await expect(send(reminder('2027-02-14T00:00:00.000Z'), summary(), 'event')).rejects.toThrow('SNS is down');
    const afterFailure = await store.list({});
    publisher.failing = false;
    const retry = await send(reminder('2027-02-14T00:00:00.000Z'), summary(), 'event');
    // Assess
    expect(afterFailure).toEqual([]);
    expect(retry).toBe('sent');
    expect(publisher.sent).toHaveLength(1);
  });

  it('reads the tags only when the summary has none', async () => {
    // Prepare
    const { send, catalog, publisher } = setup('2027-02-14T00:00:00Z', { routes: [{ match: { tag: 'team', value: 'payments' }, topic: PAYMENTS }] });
    catalog.parameters['/db/password'] = { ...summary(), tags: { team: 'payments' } };
    // Act
    await send(reminder('2027-02-14T00:00:00.000Z'), summary({ tags: undefined }), 'sweep');
    await send(reminder('2027-02-27T00:00:00.000Z', 'notify 2d before expiry'), summary(), 'sweep');
    // Assess
    expect(catalog.tagReads).toBe(1);
    expect(publisher.sent.map((m) => m.topic)).toEqual([PAYMENTS, PAYMENTS]);
  });

  it('escalates once when the expiry is within the final window and the parameter has not changed since the first notice', async () => {
    // Prepare: the 15d reminder is sent, nobody acts; the 2d reminder comes inside the 3d window.
    const { send, clock, publisher, store } = setup('2027-02-14T00:00:00Z');
    await send(reminder('2027-02-14T00:00:00.000Z'), summary(), 'event');
    clock.at = Date.parse('2027-02-27T00:00:00Z');
    // Act
    await send(reminder('2027-02-27T00:00:00.000Z', 'notify 2d before expiry'), summary(), 'event');
    clock.at = Date.parse('2027-02-28T00:00:00Z');
    await send(reminder('2027-02-27T00:00:00.000Z', 'notify 2d before expiry'), summary(), 'sweep');
    // Assess
    expect(publisher.sent.map((m) => [m.topic, m.attributes?.kind])).toEqual([
      [DEFAULT, 'ExpirationNotification'],
      [DEFAULT, 'ExpirationNotification'],
      [ESCALATION, 'Escalation'],
    ]);
    expect(publisher.sent[2].subject).toBe('opsauto ESCALATION: /db/password expires 2027-03-01T00:00:00.000Z, still unchanged');
    expect(publisher.sent[2].body).toContain('First notice: 2027-02-14T00:00:00.000Z; the parameter has not changed since.');
    expect((await store.list({})).filter((n) => n.kind === 'Escalation')).toMatchObject([{ key: '/db/password#Escalation#2027-03-01T00:00:00.000Z', channel: ESCALATION, status: 'sent' }]);
  });

  it('escalates from a later sweep inside the window even when no new reminder is due', async () => {
    // Prepare
    const { send, clock, publisher } = setup('2027-02-14T00:00:00Z');
    await send(reminder('2027-02-14T00:00:00.000Z'), summary(), 'sweep');
    // Act: 3d before expiry is the edge of the window; one second earlier is outside it.
    clock.at = Date.parse('2027-02-25T23:59:59Z');
    await send(reminder('2027-02-14T00:00:00.000Z'), summary(), 'sweep');
    const outside = publisher.sent.length;
    clock.at = Date.parse('2027-02-26T00:00:00Z');
    await send(reminder('2027-02-14T00:00:00.000Z'), summary(), 'sweep');
    // Assess
    expect(outside).toBe(1);
    expect(publisher.sent.map((m) => m.topic)).toEqual([DEFAULT, ESCALATION]);
  });

  it('does not escalate when the parameter changed after the first notice', async () => {
    // Prepare
    const { send, clock, publisher } = setup('2027-02-14T00:00:00Z');
    await send(reminder('2027-02-14T00:00:00.000Z'), summary(), 'event');
    clock.at = Date.parse('2027-02-27T00:00:00Z');
    // Act
    await send(reminder('2027-02-27T00:00:00.000Z', 'notify 2d before expiry'), summary({ lastModifiedDate: '2027-02-20T00:00:00.000Z', version: 4 }), 'event');
    // Assess
    expect(publisher.sent.map((m) => m.topic)).toEqual([DEFAULT, DEFAULT]);
  });

  it('does not escalate on the first notice itself, even inside the window', async () => {
    // Prepare
    const { send, publisher } = setup('2027-02-27T00:00:00Z');
    // Act
    await send(reminder('2027-02-27T00:00:00.000Z', 'notify 2d before expiry'), summary(), 'event');
    // Assess
    expect(publisher.sent.map((m) => m.topic)).toEqual([DEFAULT]);
  });

  it('never escalates a no-change notice, and honours the config escalation topic', async () => {
    // Prepare
    const own = 'arn:aws:sns:us-east-1:123456789012:pager';
    const { send, clock, publisher } = setup('2027-02-14T00:00:00Z', { escalationTopic: own, escalateWithin: '20d' });
    const noChange: Deadline = { parameter: '/db/password', kind: 'NoChangeNotification', source: 'policy', dueAt: '2027-02-14T00:00:00.000Z', policy: 'notify after 30d without change' };
    // Act
    await send(noChange, summary(), 'event');
    await send(reminder('2027-02-14T00:00:00.000Z'), summary(), 'event');
    clock.at = Date.parse('2027-02-15T00:00:00Z');
    await send(noChange, summary(), 'sweep');
    await send(reminder('2027-02-14T00:00:00.000Z'), summary(), 'sweep');
    // Assess
    expect(publisher.sent.map((m) => m.topic)).toEqual([DEFAULT, DEFAULT, own]);
  });
});

describe('handlePolicyAction', () => {
  const fooNoChange: ParameterSummary & { tags: Record<string, string> } = {
    name: 'foo',
    type: 'String',
    tier: 'Advanced',
    version: 1,
    lastModifiedDate: '2017-05-22T14:00:00.000Z',
    policies: [{ type: 'NoChangeNotification', after: { amount: 2, unit: 'Hours' } }],
    tags: { owner: 'alice' },
  };

  function handlerSetup(at = '2017-05-22T16:45:00Z') {
    const s = setup(at);
    const deps = { send: s.send, store: s.store, catalog: s.catalog, clock: s.clock };
    return { ...s, deps };
  }

  it('turns the real NoChangeNotification sample into one notice due when the policy says, and remembers the parameter', async () => {
    // Prepare
    const { deps, catalog, publisher, store } = handlerSetup();
    catalog.parameters.foo = fooNoChange;
    const event = anyEventBridgeEvent.parse(fixture());
    // Act
    const first = await handlePolicyAction(event, deps);
    const again = await handlePolicyAction(event, deps);
    // Assess: 14:00 + 2h, as the sweep computes it, not the event's 16:43:48.
    expect(first).toEqual({ outcome: 'sent', parameter: 'foo', kind: 'NoChangeNotification', dueAt: '2017-05-22T16:00:00.000Z' });
    expect(again.outcome).toBe('duplicate');
    expect(publisher.sent).toHaveLength(1);
    expect(publisher.sent[0].subject).toBe('opsauto: foo has not changed (notify after 2h without change)');
    expect(publisher.sent[0].body).toContain('Owner: alice (tag owner)');
    expect(await store.lastSeen('foo')).toEqual(fooNoChange);
  });

  it('keeps the due time when it falls within the second of the event (event times have whole seconds)', async () => {
    // Prepare: last changed at 14:43:48.786, so due at 16:43:48.786, and the sample's event time is 16:43:48.
    const { deps } = handlerSetup();
    deps.catalog.parameters.foo = { ...fooNoChange, lastModifiedDate: '2017-05-22T14:43:48.786Z' };
    // Act
    const result = await handlePolicyAction(anyEventBridgeEvent.parse(fixture()), deps);
    // Assess: the sweep's key, not the event's truncated time.
    expect(result).toMatchObject({ outcome: 'sent', dueAt: '2017-05-22T16:43:48.786Z' });
  });

  it('uses the event time when the parameter cannot be read, and accepts `name` for `parameter-name`', async () => {
    // Prepare
    const { deps, publisher } = handlerSetup();
    const sample = fixture() as { detail: Record<string, unknown> };
    const { 'parameter-name': name, ...detail } = sample.detail;
    const event = anyEventBridgeEvent.parse({ ...sample, detail: { ...detail, name } });
    // Act
    const result = await handlePolicyAction(event, deps);
    // Assess
    expect(result).toEqual({ outcome: 'sent', parameter: 'foo', kind: 'NoChangeNotification', dueAt: '2017-05-22T16:43:48.000Z' });
    expect(publisher.sent[0].body).toContain('Owner: unknown');
  });

  it('dates an ExpirationNotification from the current Expiration policy, as the sweep does', async () => {
    // Prepare
    const { deps, catalog, publisher } = handlerSetup('2027-02-14T00:05:00Z');
    catalog.parameters['/db/password'] = { ...summary(), tags: { team: 'payments' } };
    const event = anyEventBridgeEvent.parse({
      ...(fixture() as object),
      time: '2027-02-14T00:04:00Z',
      detail: {
        'policy-type': 'ExpirationNotification',
        'parameter-name': '/db/password',
        'policy-content': '{"Type":"ExpirationNotification","Version":"1.0","Attributes":{"Before":"15","Unit":"Days"}}',
        'action-status': 'Success',
      },
    });
    // Act
    const result = await handlePolicyAction(event, deps);
    // Assess
    expect(result).toEqual({ outcome: 'sent', parameter: '/db/password', kind: 'ExpirationNotification', dueAt: '2027-02-14T00:00:00.000Z' });
    expect(publisher.sent[0].body).toContain('Expires: 2027-03-01T00:00:00.000Z');
  });

  it('records what AWS deleted at Expiration, with the last version seen, and notifies its owner', async () => {
    // Prepare
    const { deps, store, publisher } = handlerSetup('2027-03-01T00:10:00Z');
    await store.rememberParameter({ ...summary(), description: 'payments DB', lastModifiedUser: 'alice' });
    const event = anyEventBridgeEvent.parse({
      ...(fixture() as object),
      time: '2027-03-01T00:07:00Z',
      detail: {
        'policy-type': 'Expiration',
        'parameter-name': '/db/password',
        'policy-content': '{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2027-03-01T00:00:00.000Z"}}',
        'action-status': 'Success',
        'action-reason': 'Parameter deleted',
      },
    });
    // Act
    const result = await handlePolicyAction(event, deps);
    // Assess
    expect(result).toMatchObject({ outcome: 'sent', kind: 'Expiration', dueAt: '2027-03-01T00:00:00.000Z' });
    expect(await store.listExpired({})).toEqual([
      {
        parameter: '/db/password',
        deletedAt: '2027-03-01T00:07:00.000Z',
        policy: 'expires 2027-03-01T00:00:00.000Z',
        lastVersion: { type: 'SecureString', tier: 'Advanced', version: 3, lastModifiedDate: '2026-12-01T00:00:00.000Z', lastModifiedUser: 'alice', description: 'payments DB', tags: { team: 'payments' } },
      },
    ]);
    expect(publisher.sent[0].subject).toBe('opsauto: /db/password expired and was deleted by Parameter Store');
    expect(publisher.sent[0].body).toContain('Owner: payments (tag team)');
  });

  it('ignores other sources, detail types, policy types and failed actions, with a reason', async () => {
    // Prepare
    const { deps, publisher } = handlerSetup();
    const sample = fixture() as { detail: Record<string, unknown> };
    // Act
    const results = await Promise.all([
      handlePolicyAction(anyEventBridgeEvent.parse({ ...sample, source: 'aws.ec2' }), deps),
      handlePolicyAction(anyEventBridgeEvent.parse({ ...sample, 'detail-type': 'Parameter Store Change' }), deps),
      handlePolicyAction(anyEventBridgeEvent.parse({ ...sample, detail: { ...sample.detail, 'policy-type': 'SomethingNew' } }), deps),
      handlePolicyAction(anyEventBridgeEvent.parse({ ...sample, detail: { ...sample.detail, 'action-status': 'Failed' } }), deps),
    ]);
    // Assess
    expect(results.map((r) => r.outcome)).toEqual(['ignored', 'ignored', 'ignored', 'ignored']);
    expect(results.map((r) => (r.outcome === 'ignored' ? r.reason : ''))).toEqual([
      'not a Parameter Store policy event (source aws.ec2, detail-type Parameter Store Policy Action)',
      'not a Parameter Store policy event (source aws.ssm, detail-type Parameter Store Change)',
      'policy type SomethingNew is not one opsauto notifies about',
      'action-status Failed: Parameter Store did not carry the NoChangeNotification policy out',
    ]);
    expect(publisher.sent).toEqual([]);
  });

  it('ignores parameters outside the configured paths', async () => {
    // Prepare
    const { deps, publisher } = handlerSetup();
    const sample = fixture() as { detail: Record<string, unknown> };
    const at = (name: string) => anyEventBridgeEvent.parse({ ...sample, detail: { ...sample.detail, 'parameter-name': name } });
    // Act
    const outside = await handlePolicyAction(at('/other/key'), { ...deps, paths: ['/app/', '/db'] });
    const below = await handlePolicyAction(at('/db/password'), { ...deps, paths: ['/app/', '/db'] });
    const root = await handlePolicyAction(at('foo'), { ...deps, paths: ['/'] });
    // Assess
    expect(outside).toEqual({ outcome: 'ignored', reason: 'parameter /other/key is outside parameterExpiry.paths (/app/, /db)' });
    expect([below.outcome, root.outcome]).toEqual(['sent', 'sent']);
    expect(publisher.sent).toHaveLength(2);
    expect([inPaths('/dbx', ['/db']), inPaths('/db', ['/db/']), inPaths('/app/x/y', ['/app'])]).toEqual([false, true, true]);
  });

  it('refuses a Policy Action event without a parameter name, naming the field', async () => {
    // Prepare
    const { deps } = handlerSetup();
    const sample = fixture() as { detail: Record<string, unknown> };
    const detail = { ...sample.detail };
    delete detail['parameter-name'];
    // Act
    const result = handlePolicyAction(anyEventBridgeEvent.parse({ ...sample, detail }), deps);
    // Assess
    await expect(result).rejects.toBeInstanceOf(ValidationError);
    await expect(result).rejects.toThrow('invalid Parameter Store Policy Action event: detail.parameter-name: parameter-name (or name) is required');
  });
});
