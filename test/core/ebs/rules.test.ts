import { describe, expect, it } from 'vitest';
import { defineConfig, estimateMonthlyCost, isStale, severityFor, staleVolumeOpsItem, unattachedSinceFor, type VolumeInfo } from '@opsauto/core';

const volume = (over: Partial<VolumeInfo> = {}): VolumeInfo => ({
  volumeId: 'vol-0abc',
  account: '111122223333',
  region: 'us-east-1',
  availabilityZone: 'us-east-1a',
  sizeGiB: 500,
  type: 'gp3',
  createTime: '2025-11-22T00:00:00.000Z',
  state: 'available',
  attachedTo: [],
  tags: { Name: 'old-db-data' },
  ...over,
});

describe('unattachedSinceFor', () => {
  const now = new Date('2026-11-22T06:00:00Z');

  it('starts the clock now on the first scan of a region, however old the volume', () => {
    expect(unattachedSinceFor(volume({ createTime: '2025-01-01T00:00:00Z' }), undefined, now)).toEqual({ unattachedSince: now.toISOString(), basis: 'observed' });
  });

  it('starts the clock now for a volume created before the previous scan (it may have been attached then)', () => {
    const region = { account: 'a', region: 'r', firstScanAt: '2026-10-01T06:00:00Z', lastScanAt: '2026-11-21T06:00:00Z' };
    expect(unattachedSinceFor(volume({ createTime: '2026-11-21T05:59:59Z' }), region, now).basis).toBe('observed');
  });

  it('uses the creation time of a volume created after the previous scan, which no scan saw attached', () => {
    const region = { account: 'a', region: 'r', firstScanAt: '2026-10-01T06:00:00Z', lastScanAt: '2026-11-21T06:00:00Z' };
    expect(unattachedSinceFor(volume({ createTime: '2026-11-21T07:00:00Z' }), region, now)).toEqual({ unattachedSince: '2026-11-21T07:00:00.000Z', basis: 'created' });
  });
});

describe('isStale', () => {
  const since = { unattachedSince: '2026-01-01T00:00:00.000Z' };

  it('is not stale one millisecond before the threshold (day 44 of 45) and is stale at it (day 45)', () => {
    expect(isStale(since, new Date('2026-02-14T23:59:59.999Z'), 45)).toBe(false);
    expect(isStale(since, new Date('2026-02-15T00:00:00.000Z'), 45)).toBe(true);
  });

  it('counts in UTC milliseconds, so a daylight-saving change inside the window shifts nothing', () => {
    const march = { unattachedSince: '2027-03-01T12:00:00.000Z' };
    expect(isStale(march, new Date('2027-04-15T12:00:00.000Z'), 45)).toBe(true);
    expect(isStale(march, new Date('2027-04-15T11:59:59.999Z'), 45)).toBe(false);
  });
});

describe('cost and severity', () => {
  it('prices gp3 storage, IOPS and throughput above the free baseline', () => {
    expect(estimateMonthlyCost(volume({ sizeGiB: 100, type: 'gp3' }))).toBe(8);
    expect(estimateMonthlyCost(volume({ sizeGiB: 100, type: 'gp3', iops: 4000, throughputMiBs: 225 }))).toBe(8 + 5 + 4);
  });

  it('uses the region row when there is one and the default row otherwise', () => {
    expect(estimateMonthlyCost(volume({ sizeGiB: 100, type: 'gp2', region: 'eu-west-1' }))).toBe(11);
    expect(estimateMonthlyCost(volume({ sizeGiB: 100, type: 'gp2', region: 'sa-east-1' }))).toBe(10);
  });

  it('prices io1 provisioned IOPS and gives an unknown type no cost rather than a guess', () => {
    expect(estimateMonthlyCost(volume({ sizeGiB: 100, type: 'io1', iops: 1000 }))).toBe(12.5 + 65);
    expect(estimateMonthlyCost(volume({ type: 'future-type' }))).toBe(0);
  });

  it('ranks severity and priority by monthly cost', () => {
    expect(severityFor(600)).toEqual({ severity: '1', priority: 1 });
    expect(severityFor(100)).toEqual({ severity: '2', priority: 2 });
    expect(severityFor(20)).toEqual({ severity: '3', priority: 3 });
    expect(severityFor(19.99)).toEqual({ severity: '4', priority: 4 });
  });
});

describe('staleVolumeOpsItem', () => {
  it('files an item an operator understands, with dedup, resource, runbooks and the volume facts', () => {
    const item = staleVolumeOpsItem(volume(), { unattachedSince: '2026-10-01T00:00:00.000Z', basis: 'observed' }, new Date('2026-11-22T06:00:00Z'), defineConfig({}));
    expect(item.title).toBe('Unattached EBS volume vol-0abc "old-db-data": 500 GiB gp3, 52 days, ~$40.00/month');
    expect(item).toMatchObject({ source: 'opsauto', category: 'Cost', severity: '3', priority: 3, dedupString: 'opsauto:stale-ebs-volume:111122223333:us-east-1:vol-0abc' });
    expect(JSON.parse(item.operationalData['/aws/resources'].value)).toEqual([{ arn: 'arn:aws:ec2:us-east-1:111122223333:volume/vol-0abc' }]);
    expect(JSON.parse(item.operationalData['/aws/automations'].value).map((a: { automationId: string }) => a.automationId)).toEqual(['opsauto-SnapshotThenDeleteVolume', 'opsauto-DeleteVolume']);
    expect(item.operationalData['/aws/dedup']).toEqual({ value: JSON.stringify({ dedupString: item.dedupString }), searchable: true });
    expect(item.operationalData.estimatedMonthlyCostUSD.value).toBe('40.00');
    expect(item.description).toContain('tag it opsauto:keep');
  });
});
