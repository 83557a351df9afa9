import { describe, expect, it } from 'vitest';
import {
  defineConfig,
  deadlinesToSend,
  expiringParameters,
  fixedClock,
  InMemoryNoticeStore,
  parameterDeadlines,
  sweepParameters,
  sweepQueries,
  DIGEST_MAX_ENTRIES,
  type Deadline,
  type NoticePublisher,
  type OpsautoConfigInput,
  type ParameterCatalog,
  type ParameterPolicy,
  type ParameterSummary,
  type SendNotice,
} from '@opsauto/core';

const NOW = '2027-02-20T07:00:00.000Z';
const DEFAULT_TOPIC = 'arn:aws:sns:us-east-1:123456789012:opsauto-test-notifications';
const PAYMENTS_TOPIC = 'arn:aws:sns:us-east-1:123456789012:payments';

type Filter = { key: string; option?: string; values?: string[] };

const withoutTags = (p: ParameterSummary): ParameterSummary => {
  const copy = { ...p };
  delete copy.tags;
  return copy;
};

/** A turn of the event loop, as a real call would take. */
const tick = () => new Promise<void>((r) => setImmediate(r));

/** Parameter Store as DescribeParameters answers it: filters applied, pages of `pageSize`; counts calls. */
class FakeCatalog implements ParameterCatalog {
  readonly params = new Map<string, ParameterSummary & { tags: Record<string, string> }>();
  describeCalls: Filter[][] = [];
  tagCalls: string[] = [];
  /** Pages handed out and not yet followed by the next request (a sweep holding more than one would show here). */
  maxPagesOutstanding = 0;
  constructor(private readonly pageSize = 50) {}

  add(name: string, p: { tier?: string; policies?: ParameterPolicy[]; tags?: Record<string, string>; lastModifiedDate?: string }): void {
    this.params.set(name, {
      name,
      type: 'SecureString',
      tier: p.tier ?? (p.policies?.length ? 'Advanced' : 'Standard'),
      version: 1,
      lastModifiedDate: p.lastModifiedDate ?? '2027-01-01T00:00:00.000Z',
      policies: p.policies ?? [],
      tags: p.tags ?? {},
    });
  }

  async *pages(filters: Filter[]): AsyncIterable<ParameterSummary[]> {
    const matching = [...this.params.values()].filter((p) =>
      filters.every((f) => {
        if (f.key === 'Tier') return f.values?.includes(p.tier);
        if (f.key.startsWith('tag:')) return p.tags[f.key.slice(4)] !== undefined && (!f.values || f.values.includes(p.tags[f.key.slice(4)]));
        if (f.key === 'Path') return f.values?.some((v) => p.name.startsWith(`${v}/`));
        throw new Error(`unexpected filter ${f.key}`);
      }),
    );
    for (let i = 0; i === 0 || i < matching.length; i += this.pageSize) {
      await tick();
      this.describeCalls.push(filters);
      // Summaries without tags, as DescribeParameters lists them.
      yield matching.slice(i, i + this.pageSize).map(withoutTags);
    }
  }

  async describe(name: string) {
    await tick();
    const p = this.params.get(name);
    return p ? withoutTags(p) : undefined;
  }

  async tags(name: string) {
    await tick();
    this.tagCalls.push(name);
    return { ...(this.params.get(name)?.tags ?? {}) };
  }
}

/** The notice sender's contract: once per parameter, kind and due time. */
function fakeSender() {
  const keys = new Set<string>();
  const sent: Deadline[] = [];
  const send: SendNotice = async (d) => {
    await tick();
    const key = `${d.parameter}#${d.kind}#${d.dueAt}`;
    if (keys.has(key)) return 'duplicate';
    keys.add(key);
    sent.push(d);
    return 'sent';
  };
  return { send, sent };
}

function setup(input: OpsautoConfigInput['parameterExpiry'] = {}, pageSize = 50) {
  const config = defineConfig({ parameterExpiry: { routes: [{ match: { tag: 'team', value: 'payments' }, topic: PAYMENTS_TOPIC }], ...input } }).parameterExpiry;
  const catalog = new FakeCatalog(pageSize);
  const sender = fakeSender();
  const published: { topic: string; subject: string; body: string; attributes?: Record<string, string> }[] = [];
  const publisher: NoticePublisher = {
    publish: async (topic, m) => {
      await tick();
      published.push({ topic, ...m });
      return { messageId: `m-${published.length}` };
    },
  };
  const remembered: ParameterSummary[] = [];
  const route = (tags: Record<string, string>) => config.routes.find((r) => tags[r.match.tag] === r.match.value)?.topic ?? DEFAULT_TOPIC;
  const digestClaims = new InMemoryNoticeStore();
  const deps = (at = NOW, runKey?: string) => ({
    catalog,
    send: sender.send,
    publisher,
    store: {
      rememberParameter: async (p: ParameterSummary) => {
        await tick();
        remembered.push(p);
      },
      claimDigest: (key: string) => digestClaims.claimDigest(key),
      releaseDigest: (key: string) => digestClaims.releaseDigest(key),
    },
    runKey,
    config,
    topics: { default: DEFAULT_TOPIC },
    clock: fixedClock(at),
    route,
  });
  return { config, catalog, sender, published, remembered, deps };
}

const expiry = (at: string, ...before: number[]): ParameterPolicy[] => [
  { type: 'Expiration', expiresAt: at },
  ...before.map((amount): ParameterPolicy => ({ type: 'ExpirationNotification', before: { amount, unit: 'Days' } })),
];

describe('sweepQueries', () => {
  it('lists advanced parameters and those carrying the expiry tag (any value), narrowed to the configured paths', () => {
    // Prepare
    const config = defineConfig({ parameterExpiry: { paths: ['/app/', '/db'] } }).parameterExpiry;

    // Act
    const queries = sweepQueries(config);

    // Assert
    expect(queries.policies).toEqual([{ key: 'Tier', option: 'Equals', values: ['Advanced'] }, { key: 'Path', option: 'Recursive', values: ['/app', '/db'] }]);
    expect(queries.tagged).toEqual([{ key: 'tag:opsauto:expires-at' }, { key: 'Path', option: 'Recursive', values: ['/app', '/db'] }]);
    expect(sweepQueries(defineConfig({}).parameterExpiry).tagged).toEqual([{ key: 'tag:opsauto:expires-at' }]);
  });
});

describe('deadlinesToSend', () => {
  it('sends the latest due reminder of an expiry, not the ones it supersedes, and every other due deadline', () => {
    // Prepare: expiry on 2027-02-21; reminders 30d, 15d and 1d before; a no-change notice due long ago.
    const p: ParameterSummary = {
      name: '/db/password',
      type: 'SecureString',
      tier: 'Advanced',
      version: 3,
      lastModifiedDate: '2026-10-01T00:00:00.000Z',
      policies: [...expiry('2027-02-21T00:00:00.000Z', 30, 15, 1), { type: 'NoChangeNotification', after: { amount: 30, unit: 'Days' } }],
    };
    const deadlines = parameterDeadlines(p, { expiryTag: 'x', tagReminders: [] });

    // Act
    const toSend = deadlinesToSend(deadlines, new Date('2027-02-19T00:00:00Z'));

    // Assert
    expect(toSend.map((d) => `${d.kind} ${d.dueAt.slice(0, 10)}`)).toEqual(['NoChangeNotification 2026-10-31', 'ExpirationNotification 2027-02-06']);
  });
});

describe('sweepParameters', () => {
  it('sends each digest of a scheduled run once when the run is delivered again or retried, and always when run by hand', async () => {
    // Prepare
    const { catalog, deps, published } = setup();
    catalog.add('/db/password', { policies: expiry('2027-03-01T00:00:00.000Z', 15), tags: { team: 'payments' } });
    catalog.add('/db/later', { policies: expiry('2027-03-10T00:00:00.000Z', 15) });
    const digestsSent = () => published.filter((m) => m.attributes?.kind === 'Digest').length;
    // Act
    const first = await sweepParameters(deps(NOW, 'event-1'));
    const again = await sweepParameters(deps(NOW, 'event-1'));
    const sentByEvent = digestsSent();
    await sweepParameters(deps(NOW));
    await sweepParameters(deps(NOW));
    // Assess
    expect(first.digests).toBeGreaterThan(0);
    expect(again).toMatchObject({ digests: 0, digestDuplicates: first.digests });
    expect(sentByEvent).toBe(first.digests);
    expect(digestsSent()).toBe(3 * first.digests);
  });

  it('gives a digest claim back when its publish fails, so that the retry of the run sends it', async () => {
    // Prepare
    const { catalog, deps, published } = setup();
    catalog.add('/db/password', { policies: expiry('2027-03-01T00:00:00.000Z', 15), tags: { team: 'payments' } });
    const d = deps(NOW, 'event-2');
    let failing = true;
    const publisher = { publish: async (topic: string, m: { subject: string; body: string; attributes?: Record<string, string> }) => {
      if (failing && m.attributes?.kind === 'Digest') throw new Error('SNS down');
      return d.publisher.publish(topic, m);
    } };
    // Act
    await expect(sweepParameters({ ...d, publisher })).rejects.toThrow('SNS down');
    failing = false;
    const retry = await sweepParameters({ ...d, publisher });
    // Assess
    expect(retry.digests).toBeGreaterThan(0);
    expect(published.filter((m) => m.attributes?.kind === 'Digest')).toHaveLength(retry.digests);
  });

  it('sends a due reminder once across two sweeps (the second finds it a duplicate)', async () => {
    // Prepare
    const { catalog, sender, deps } = setup();
    catalog.add('/db/password', { policies: expiry('2027-03-01T00:00:00.000Z', 15), tags: { team: 'payments' } });
    catalog.add('/db/later', { policies: expiry('2027-06-01T00:00:00.000Z', 15) });

    // Act
    const first = await sweepParameters(deps());
    const second = await sweepParameters(deps('2027-02-21T07:00:00.000Z'));

    // Assert
    expect(sender.sent.map((d) => [d.parameter, d.kind, d.dueAt])).toEqual([['/db/password', 'ExpirationNotification', '2027-02-14T00:00:00.000Z']]);
    expect(first).toMatchObject({ listed: 2, withDeadlines: 2, sent: 1, duplicates: 0 });
    expect(second).toMatchObject({ sent: 0, duplicates: 1 });
  });

  it('gives a standard parameter with the expiry tag the configured reminders, and skips tags it cannot read as a time', async () => {
    // Prepare: reminders 15d and 1d (the default); the tag expires on 2027-03-01.
    const { catalog, sender, deps } = setup();
    catalog.add('/app/api-key', { tags: { 'opsauto:expires-at': '2027-03-01', owner: 'alice' } });
    catalog.add('/app/bad-tag', { tags: { 'opsauto:expires-at': 'next spring' } });
    catalog.add('/app/plain', { tags: { owner: 'bob' } });

    // Act
    const summary = await sweepParameters(deps());

    // Assert: only the tagged ones are listed by the tag query, the plain one never is.
    expect(sender.sent).toEqual([
      expect.objectContaining({ parameter: '/app/api-key', kind: 'ExpirationNotification', source: 'tag', dueAt: '2027-02-14T00:00:00.000Z', expiresAt: '2027-03-01T00:00:00.000Z' }),
    ]);
    expect(summary).toMatchObject({ listed: 2, withDeadlines: 1, sent: 1 });
    expect(catalog.tagCalls.sort()).toEqual(['/app/api-key', '/app/bad-tag']);
  });

  it('reads tags only for parameters that have deadlines, and handles an advanced tagged parameter once', async () => {
    // Prepare: advanced without policies (no deadlines), advanced with policies and the tag, advanced with the tag only.
    const { catalog, sender, deps } = setup();
    catalog.add('/a/no-policies', { tier: 'Advanced' });
    catalog.add('/a/both', { policies: [{ type: 'NoChangeNotification', after: { amount: 10, unit: 'Days' } }], tags: { 'opsauto:expires-at': '2027-02-25' } });
    catalog.add('/a/tag-only', { tier: 'Advanced', tags: { 'opsauto:expires-at': '2027-02-25' } });

    // Act
    const summary = await sweepParameters(deps());

    // Assert
    expect(catalog.tagCalls.sort()).toEqual(['/a/both', '/a/tag-only']);
    expect(summary).toMatchObject({ listed: 5, withDeadlines: 2 });
    expect(sender.sent.map((d) => `${d.parameter} ${d.kind} ${d.source}`).sort()).toEqual([
      '/a/both ExpirationNotification tag',
      '/a/both NoChangeNotification policy',
      '/a/tag-only ExpirationNotification tag',
    ]);
  });

  it('publishes one digest per owner to the topic the owner routes to, listing the next digestDays', async () => {
    // Prepare
    const { catalog, published, deps } = setup({ digestDays: 30 });
    catalog.add('/pay/one', { policies: expiry('2027-03-10T00:00:00.000Z', 15), tags: { team: 'payments' } });
    catalog.add('/pay/two', { tags: { team: 'payments', 'opsauto:expires-at': '2027-03-05' } });
    catalog.add('/web/one', { policies: expiry('2027-03-01T00:00:00.000Z'), tags: { owner: 'alice' } });
    catalog.add('/web/far', { policies: expiry('2027-09-01T00:00:00.000Z'), tags: { owner: 'carol' } });

    // Act
    const summary = await sweepParameters(deps());

    // Assert
    expect(summary.digests).toBe(2);
    expect(published.map((m) => [m.topic, m.attributes?.owner])).toEqual([
      [PAYMENTS_TOPIC, 'payments'],
      [DEFAULT_TOPIC, 'alice'],
    ]);
    const payments = published[0];
    expect(payments.subject).toBe('opsauto: 5 parameter deadlines in the next 30 days (payments)');
    expect(payments.body.split('\n').filter((l) => l.startsWith('- '))).toEqual([
      '- 2027-02-18 00:00 UTC  ExpirationNotification  /pay/two  (expires 2027-03-05)  [tag opsauto:expires-at=2027-03-05, notify 15d before]',
      '- 2027-02-23 00:00 UTC  ExpirationNotification  /pay/one  (expires 2027-03-10)  [notify 15d before expiry]',
      '- 2027-03-04 00:00 UTC  ExpirationNotification  /pay/two  (expires 2027-03-05)  [tag opsauto:expires-at=2027-03-05, notify 1d before]',
      '- 2027-03-05 00:00 UTC  Expiration  /pay/two  [tag opsauto:expires-at=2027-03-05]',
      '- 2027-03-10 00:00 UTC  Expiration  /pay/one  [expires 2027-03-10T00:00:00.000Z]',
    ]);
    expect(published[1].body).toContain('/web/one');
    expect(published.some((m) => m.body.includes('/web/far'))).toBe(false);
  });

  it('caps a digest at its soonest entries and counts the rest', async () => {
    // Prepare
    const { catalog, published, deps } = setup();
    for (let i = 0; i < DIGEST_MAX_ENTRIES + 5; i++) catalog.add(`/many/p${String(i).padStart(3, '0')}`, { tags: { owner: 'ops', 'opsauto:expires-at': `2027-03-${String(1 + (i % 9)).padStart(2, '0')}` } }); // 3 deadlines each
    catalog.add('/many/soonest', { tags: { owner: 'ops', 'opsauto:expires-at': '2027-02-21T01:00:00Z' } }); // 3 as well

    // Act
    await sweepParameters(deps());

    // Assert
    const lines = published[0].body.split('\n');
    expect(lines.filter((l) => l.startsWith('- '))).toHaveLength(DIGEST_MAX_ENTRIES);
    expect(lines.find((l) => l.startsWith('- '))).toContain('/many/soonest');
    expect(published[0].subject).toContain(`${(DIGEST_MAX_ENTRIES + 6) * 3} parameter deadlines`);
    expect(lines).toContain(`… and ${(DIGEST_MAX_ENTRIES + 6) * 3 - DIGEST_MAX_ENTRIES} more: opsauto params expiring --within 30d`);
  });

  it('streams pages: every page is asked for in turn and the parameters with deadlines are remembered', async () => {
    // Prepare: 7 pages of 3 for the policy query (20 parameters), 1 for the tag query.
    const { catalog, remembered, deps } = setup({}, 3);
    for (let i = 0; i < 20; i++) catalog.add(`/p/${i}`, { policies: expiry('2027-12-01T00:00:00.000Z', 15) });

    // Act
    const summary = await sweepParameters(deps());

    // Assert
    expect(catalog.describeCalls.filter((f) => f[0].key === 'Tier')).toHaveLength(7);
    expect(catalog.describeCalls.filter((f) => f[0].key.startsWith('tag:'))).toHaveLength(1);
    expect(summary).toMatchObject({ listed: 20, withDeadlines: 20, sent: 0, digests: 0 });
    expect(remembered.map((p) => p.name).sort()).toEqual([...Array(20).keys()].map((i) => `/p/${i}`).sort());
    expect(remembered[0].tags).toEqual({});
  });

  it('holds one page at a time: a parameter of page 2 is not read before page 1 is done', async () => {
    // Prepare
    const { catalog, deps } = setup({}, 2);
    for (let i = 0; i < 6; i++) catalog.add(`/p/${i}`, { policies: expiry('2027-12-01T00:00:00.000Z', 15) });
    const order: string[] = [];
    const pages = catalog.pages.bind(catalog);
    catalog.pages = async function* (filters) {
      for await (const page of pages(filters)) {
        order.push(`page ${page.map((p) => p.name).join(',')}`);
        yield page;
      }
    };
    const tags = catalog.tags.bind(catalog);
    catalog.tags = async (name) => {
      order.push(`tags ${name}`);
      return tags(name);
    };

    // Act
    await sweepParameters(deps());

    // Assert
    expect(order.slice(0, 6)).toEqual(['page /p/0,/p/1', 'tags /p/0', 'tags /p/1', 'page /p/2,/p/3', 'tags /p/2', 'tags /p/3']);
  });

  it('goes on past a parameter whose notice fails, and reports it', async () => {
    // Prepare
    const { catalog, deps } = setup();
    catalog.add('/db/a', { policies: expiry('2027-03-01T00:00:00.000Z', 15) });
    catalog.add('/db/b', { policies: expiry('2027-03-01T00:00:00.000Z', 15) });
    const d = deps();
    const send: SendNotice = async (deadline, p, via) => {
      if (p.name === '/db/a') throw new Error('SNS is down');
      return d.send(deadline, p, via);
    };

    // Act
    const summary = await sweepParameters({ ...d, send });

    // Assert
    expect(summary).toMatchObject({ sent: 1, failed: 1, failures: ['/db/a: Error: SNS is down'] });
  });
});

describe('expiringParameters', () => {
  it('lists the deadlines within the window with their owner, sorted, sending nothing', async () => {
    // Prepare
    const { catalog, config, sender } = setup();
    catalog.add('/db/password', { policies: expiry('2027-03-01T00:00:00.000Z', 15), tags: { team: 'payments' } });
    catalog.add('/app/key', { tags: { 'opsauto:expires-at': '2027-02-25' } });
    catalog.add('/db/far', { policies: expiry('2027-09-01T00:00:00.000Z', 15) });

    // Act
    const rows = await expiringParameters(catalog, config, new Date(NOW), 10 * 86_400_000);

    // Assert: a reminder already due is listed while its expiry is in the window.
    expect(rows.map((r) => [r.parameter, r.kind, r.dueAt.slice(0, 10), r.owner])).toEqual([
      ['/app/key', 'ExpirationNotification', '2027-02-10', '(no owner)'],
      ['/db/password', 'ExpirationNotification', '2027-02-14', 'payments'],
      ['/app/key', 'ExpirationNotification', '2027-02-24', '(no owner)'],
      ['/app/key', 'Expiration', '2027-02-25', '(no owner)'],
      ['/db/password', 'Expiration', '2027-03-01', 'payments'],
    ]);
    expect(sender.sent).toEqual([]);
  });
});
