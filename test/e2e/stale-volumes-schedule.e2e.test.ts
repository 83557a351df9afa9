import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stage } from '../../packages/cli/src/stage.js';
import { opsItems, startWith, titles } from '../helpers/stale-volumes.js';

// One stage per file: functions keep their SDK clients (and so their endpoint) for the life of the process, as in Lambda.
describe('stale-EBS scanner on its daily schedule', () => {
  let stage: Stage;
  beforeAll(async () => {
    stage = await startWith({});
  });
  afterAll(async () => {
    await stage.stop();
  });

  it('files exactly the volumes unattached for 45 days once the clock has run 46 days of daily scans', async () => {
    // Act: 46 days pass; the schedule (06:00 UTC daily) runs the scan on each of them.
    await stage.cloud.advance('P46D');
    // Assess
    const scans = stage.cloud.lambda.invocations.filter((i) => i.function === 'stale-volume-scan');
    expect(scans.length).toBeGreaterThanOrEqual(45);
    expect(scans.every((i) => i.ok)).toBe(true);
    const filed = await titles(stage);
    expect(filed.map((t) => /^Unattached EBS volume vol-\w+ "([^"]+)"/.exec(t)?.[1]).sort()).toEqual(['eu-orphan', 'old-db', 'scratch']);
    const item = (await opsItems(stage, 'us-east-1')).find((i) => i.Title!.includes('old-db'))!;
    expect(item).toMatchObject({ Source: 'opsauto', Category: 'Cost', Severity: '3', Priority: 3 });
  });
});
