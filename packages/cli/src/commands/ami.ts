import { AwsClients, amiPublisherAdapters, tableName } from '@opsauto/aws';
import { rollbackFamily, type AmiPublisherDeps, type Clock } from '@opsauto/core';
import type { Command } from 'commander';
import { ControlClient, localcloudUrl } from '../control-client.js';
import { print } from '../output.js';
import { loadProjectConfig } from '../project.js';
import { LOCAL_STAGE } from '../stage.js';

interface GlobalOptions {
  stage: string;
  endpoint?: string;
  json?: boolean;
}

/** The local stage's virtual time, so that what the CLI records lines up with what its functions record. */
async function localClock(url: string): Promise<Clock> {
  const { offsetMs } = await new ControlClient(url).request<{ offsetMs: number }>('GET', 'clock');
  return { now: () => new Date(Date.now() + offsetMs) };
}

/**
 * The AMI publisher's adapters for the chosen stage: localcloud for `local`, the SDK's defaults otherwise. The
 * table lives in the home region (the first configured one) whatever region the family is in.
 */
async function deps(program: Command, region?: string): Promise<{ deps: AmiPublisherDeps; region: string }> {
  const { stage, endpoint } = program.opts<GlobalOptions>();
  const config = await loadProjectConfig();
  const home = config.regions[0];
  const local = stage === LOCAL_STAGE;
  const url = localcloudUrl(endpoint);
  const clients = local
    ? new AwsClients(home, { endpoint: url, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } })
    : new AwsClients(home, endpoint ? { endpoint } : {});
  return {
    region: region ?? home,
    deps: {
      config,
      clock: local ? await localClock(url) : { now: () => new Date() },
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      ...amiPublisherAdapters(clients, tableName(config.app, stage)),
    },
  };
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new Error(`--limit must be a whole number from 1 to 1000 (got ${value})`);
  return n;
}

export function amiCommands(program: Command): void {
  const ami = program.command('ami').description('AMI publisher: what each family publishes, and rollbacks');
  ami
    .command('history <family>')
    .description("a family's publications, rollbacks, warnings and rejections, newest first")
    .option('--region <region>', 'region of the family (default: the first configured region)')
    .option('--limit <n>', 'at most this many records (1-1000)', '20')
    .action(async (family: string, opts: { region?: string; limit: string }) => {
      const limit = positiveInt(opts.limit);
      const { deps: d, region } = await deps(program, opts.region);
      const head = await d.store.getHead(region, family);
      const history = await d.store.history(region, family, limit);
      if (!head && history.length === 0) throw new Error(`family ${family} has never been published in ${region}`);
      const json = program.opts<GlobalOptions>().json;
      if (!json && head) {
        console.log(`${family} in ${region}: ${head.parameterName} -> ${head.imageId} (parameter version ${head.parameterVersion ?? '?'}, ${head.status})`);
        if (head.warning) console.log(`WARNING: ${head.warning}`);
      }
      print(json ? { head, history } : history, program, ['at', 'kind', 'imageId', 'imageName', 'parameterVersion', 'source', 'note']);
    });
  ami
    .command('rollback <family>')
    .description('point the family parameter back to an image it published before')
    .requiredOption('--to <version|ami-id>', 'a parameter version or image ID from `opsauto ami history`')
    .option('--region <region>', 'region of the family (default: the first configured region)')
    .action(async (family: string, opts: { to: string; region?: string }) => {
      const { deps: d, region } = await deps(program, opts.region);
      const head = await rollbackFamily(d, { region, family, to: opts.to });
      if (program.opts<GlobalOptions>().json) print(head, program);
      else console.log(`${head.parameterName} -> ${head.imageId} (parameter version ${head.parameterVersion}); newer images will move it forward again`);
    });
}
