/**
 * DescribeVolumes at size: a region of 100,000 volumes (half available), paged 500 at a time through the real
 * SDK client, as the stale-EBS scanner pages it. Two filters are timed: `status=available` and
 * `status=available` with `tag:Env=prod`. The baseline is the same number of STS GetCallerIdentity calls in the
 * same process: the protocol round trip (signing, HTTP, XML) with no work behind it. Page and baseline calls are
 * interleaved so that machine noise hits both alike.
 *
 * Each page is also fetched as a plain HTTP request (no SDK): that is the time localcloud takes to serve it
 * (parse, index, XML, transfer). The difference to the SDK page is the SDK's own work, mostly deserialising
 * 500 volumes of XML, which no emulator can shorten. Target: a page served within 25 ms (median).
 */
import { DescribeVolumesCommand, EC2Client, type Filter } from '@aws-sdk/client-ec2';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { startLocalcloud } from '@opsauto/localcloud';
import { generateVolumes } from '../packages/localcloud/src/services/ec2.js';
import { median, writeResult } from './report.js';

const VOLUMES = Number(process.env.BENCH_VOLUMES ?? 100_000);
const PAGES = Number(process.env.BENCH_PAGES ?? 50);
const PAGE_SIZE = 500;
const TARGET_MS = 25;
const ACCOUNT = '000000000000';
const REGION = 'us-east-1';

const FILTERS: Record<string, Filter[]> = {
  'status=available': [{ Name: 'status', Values: ['available'] }],
  'status=available, tag:Env=prod': [
    { Name: 'status', Values: ['available'] },
    { Name: 'tag:Env', Values: ['prod'] },
  ],
};

export async function run(): Promise<boolean> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const cloud = await startLocalcloud({ port: 0, tickMs: 0 });
  const config = { endpoint: cloud.url, region: REGION, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };
  const ec2 = new EC2Client(config);
  const sts = new STSClient(config);
  try {
    const started = performance.now();
    generateVolumes(cloud.store, ACCOUNT, REGION, VOLUMES, { inUseShare: 0.5 });
    const generationMs = performance.now() - started;

    const timed = async (call: () => Promise<unknown>) => {
      const t0 = performance.now();
      await call();
      return performance.now() - t0;
    };
    const getCallerIdentity = () => sts.send(new GetCallerIdentityCommand({}));
    for (let i = 0; i < 5; i++) await getCallerIdentity(); // warm both clients' connections and code paths
    await ec2.send(new DescribeVolumesCommand({ MaxResults: PAGE_SIZE }));

    // The same request without the SDK: localcloud reads the region and service from the credential scope only.
    const served = async (filters: Filter[], token: string | undefined) => {
      const params = new URLSearchParams({ Action: 'DescribeVolumes', Version: '2016-11-15', MaxResults: String(PAGE_SIZE) });
      filters.forEach((f, i) => {
        params.set(`Filter.${i + 1}.Name`, f.Name!);
        f.Values!.forEach((v, j) => params.set(`Filter.${i + 1}.Value.${j + 1}`, v));
      });
      if (token) params.set('NextToken', token);
      const res = await fetch(cloud.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `AWS4-HMAC-SHA256 Credential=bench/20260101/${REGION}/ec2/aws4_request, SignedHeaders=host, Signature=0` },
        body: params.toString(),
      });
      if (!res.ok) throw new Error(`DescribeVolumes over HTTP answered ${res.status}: ${await res.text()}`);
      await res.text();
    };

    const rows = [];
    for (const [name, filters] of Object.entries(FILTERS)) {
      const pageMs: number[] = [];
      const servedMs: number[] = [];
      const baselineMs: number[] = [];
      let nextToken: string | undefined;
      let items = 0;
      for (let i = 0; i < PAGES; i++) {
        // Paginate through; start over when the filter's volumes run out before PAGES pages.
        const token = nextToken;
        servedMs.push(await timed(() => served(filters, token)));
        pageMs.push(
          await timed(async () => {
            const out = await ec2.send(new DescribeVolumesCommand({ Filters: filters, MaxResults: PAGE_SIZE, NextToken: token }));
            nextToken = out.NextToken;
            items += out.Volumes?.length ?? 0;
          }),
        );
        baselineMs.push(await timed(getCallerIdentity));
      }
      const page = median(pageMs);
      const baseline = median(baselineMs);
      rows.push({
        filter: name,
        pages: PAGES,
        itemsPerPage: Math.round(items / PAGES),
        servedMsMedian: round(median(servedMs)),
        sdkPageMsMedian: round(page),
        sdkPageMsMax: round(Math.max(...pageMs)),
        baselineMsMedian: round(baseline),
        ratio: round(page / baseline),
        ok: median(servedMs) <= TARGET_MS,
      });
    }
    console.log(`generated ${VOLUMES} volumes in ${round(generationMs)} ms`);
    console.table(rows);
    for (const r of rows) {
      console.log(
        `${r.filter}: median page served in ${r.servedMsMedian} ms (target <= ${TARGET_MS} ms) ${r.ok ? 'met' : 'MISSED'}; ` +
          `through the SDK ${r.sdkPageMsMedian} ms, ${r.ratio}x a GetCallerIdentity round trip (${r.baselineMsMedian} ms)`,
      );
    }
    writeResult('describe-volumes', { volumes: VOLUMES, pageSize: PAGE_SIZE, targets: { servedMsMedian: TARGET_MS }, generationMs: round(generationMs), filters: rows });
    return rows.every((r) => r.ok);
  } finally {
    ec2.destroy();
    sts.destroy();
    await cloud.stop();
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
