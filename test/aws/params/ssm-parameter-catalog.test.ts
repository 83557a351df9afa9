import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsClients, SsmParameterCatalog } from '@opsauto/aws';
import { defineConfig, expiringParameters, sweepQueries, type ParameterSummary } from '@opsauto/core';
import type { Localcloud } from '@opsauto/localcloud';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';

let cloud: Localcloud;
let catalog: SsmParameterCatalog;

const EXPIRES = '2027-03-01T00:00:00.000Z';
const policies = [
  { Type: 'Expiration', Version: '1.0', Attributes: { Timestamp: EXPIRES } },
  { Type: 'ExpirationNotification', Version: '1.0', Attributes: { Before: '15', Unit: 'Days' } },
  { Type: 'NoChangeNotification', Version: '1.0', Attributes: { After: '30', Unit: 'Days' } },
];

beforeAll(async () => {
  cloud = await startTestCloud();
  cloud.seed({
    regions: {
      'us-east-1': {
        parameters: [
          // 60 standard, 55 advanced with policies (two pages and a bit), 4 tagged with an expiry.
          ...Array.from({ length: 60 }, (_, i) => ({ name: `/app/plain/p${i}`, value: 'v' })),
          ...Array.from({ length: 55 }, (_, i) => ({ name: `/app/adv/p${i}`, value: 's3cr3t', type: 'SecureString', tier: 'Advanced', policies, tags: { team: 'payments' } })),
          ...Array.from({ length: 3 }, (_, i) => ({ name: `/app/tagged/p${i}`, value: 'v', tags: { 'opsauto:expires-at': '2027-03-01', owner: 'alice' } })),
          { name: '/other/tagged', value: 'v', tags: { 'opsauto:expires-at': '2027-02-01' } },
        ],
      },
    },
  });
  catalog = new SsmParameterCatalog(new AwsClients('us-east-1', clientConfig(cloud)));
});
afterAll(async () => {
  await cloud.stop();
});

async function collect(filters: Parameters<SsmParameterCatalog['pages']>[0]): Promise<ParameterSummary[][]> {
  const pages: ParameterSummary[][] = [];
  for await (const page of catalog.pages(filters)) pages.push(page);
  return pages;
}

describe('SsmParameterCatalog', () => {
  it('streams DescribeParameters pages of 50 with the Tier filter, each parameter with its parsed policies and no value', async () => {
    // Act
    const pages = await collect([{ key: 'Tier', option: 'Equals', values: ['Advanced'] }]);

    // Assert
    expect(pages.map((p) => p.length)).toEqual([50, 5]);
    const first = pages[0].find((p) => p.name === '/app/adv/p0');
    expect(first).toEqual({
      name: '/app/adv/p0',
      type: 'SecureString',
      tier: 'Advanced',
      version: 1,
      lastModifiedDate: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      lastModifiedUser: expect.any(String),
      policies: [
        { type: 'Expiration', expiresAt: EXPIRES },
        { type: 'ExpirationNotification', before: { amount: 15, unit: 'Days' } },
        { type: 'NoChangeNotification', after: { amount: 30, unit: 'Days' } },
      ],
    });
    expect(JSON.stringify(pages)).not.toContain('s3cr3t');
  });

  it('lists every parameter carrying a tag key, whatever its value, with a tag:<key> filter without values', async () => {
    // Act
    const pages = await collect([{ key: 'tag:opsauto:expires-at' }]);

    // Assert
    expect(pages.flat().map((p) => p.name).sort()).toEqual(['/app/tagged/p0', '/app/tagged/p1', '/app/tagged/p2', '/other/tagged']);
  });

  it("narrows the sweep's queries to the configured paths", async () => {
    // Prepare
    const queries = sweepQueries(defineConfig({ parameterExpiry: { paths: ['/app/'] } }).parameterExpiry);

    // Act
    const tagged = (await collect(queries.tagged)).flat();
    const advanced = (await collect(queries.policies)).flat();

    // Assert
    expect(tagged.map((p) => p.name).sort()).toEqual(['/app/tagged/p0', '/app/tagged/p1', '/app/tagged/p2']);
    expect(advanced).toHaveLength(55);
  });

  it('answers an empty page when nothing matches', async () => {
    expect(await collect([{ key: 'tag:nobody-uses-this' }])).toEqual([[]]);
  });

  it('reads a parameter by name and its tags', async () => {
    // Act
    const one = await catalog.describe('/app/tagged/p1');
    const missing = await catalog.describe('/app/tagged/nope');
    const tags = await catalog.tags('/app/tagged/p1');

    // Assert
    expect(one).toMatchObject({ name: '/app/tagged/p1', tier: 'Standard', policies: [] });
    expect(missing).toBeUndefined();
    expect(tags).toEqual({ 'opsauto:expires-at': '2027-03-01', owner: 'alice' });
  });

  it("feeds expiringParameters: the sweep's computation over localcloud", async () => {
    // Act
    const rows = await expiringParameters(catalog, defineConfig({ parameterExpiry: { paths: ['/app/'] } }).parameterExpiry, new Date('2027-02-25T00:00:00Z'), 10 * 86_400_000);

    // Assert: 55 advanced (a reminder whose expiry is in the window, and the expiry) and 3 tagged (two reminders, the expiry).
    expect(rows).toHaveLength(55 * 2 + 3 * 3);
    expect(rows.find((r) => r.parameter === '/app/adv/p7' && r.kind === 'Expiration')).toEqual({
      parameter: '/app/adv/p7',
      kind: 'Expiration',
      source: 'policy',
      dueAt: EXPIRES,
      expiresAt: EXPIRES,
      policy: `expires ${EXPIRES}`,
      owner: 'payments',
    });
  });
});
