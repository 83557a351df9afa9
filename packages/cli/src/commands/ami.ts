import { AwsClients, DynamoPublicationStore, Ec2ImageCatalog, SsmImageParameter, tableName } from '@opsauto/aws';
import { rollbackFamily, type AmiPublisherDeps } from '@opsauto/core';
import type { Command } from 'commander';
import { localcloudUrl } from '../control-client.js';
import { print } from '../output.js';
import { loadProjectConfig } from '../project.js';
import { LOCAL_STAGE } from '../stage.js';

interface GlobalOptions {
  stage: string;
  endpoint?: string;
}

/** The AMI publisher's adapters for the chosen stage: localcloud for `local`, the SDK's defaults otherwise. */
async function deps(program: Command, region?: string): Promise<{ deps: AmiPublisherDeps; region: string }> {
  const { stage, endpoint } = program.opts<GlobalOptions>();
  const config = await loadProjectConfig();
  const home = region ?? config.regions[0];
  const clients =
    stage === LOCAL_STAGE
      ? new AwsClients(home, { endpoint: localcloudUrl(endpoint), credentials: { accessKeyId: 'local', secretAccessKey: 'local' } })
      : new AwsClients(home, endpoint ? { endpoint } : {});
  return {
    region: home,
    deps: {
      config,
      clock: { now: () => new Date() },
      images: new Ec2ImageCatalog(clients),
      parameters: new SsmImageParameter(clients),
      store: new DynamoPublicationStore(clients, tableName(config.app, stage)),
    },
  };
}

export function amiCommands(program: Command): void {
  const ami = program.command('ami').description('AMI publisher: what each family publishes, and rollbacks');
  ami
    .command('history <family>')
    .description("a family's publications, rollbacks and warnings, newest first")
    .option('--region <region>', 'region of the family (default: the first configured region)')
    .option('--limit <n>', 'at most this many records', '20')
    .action(async (family: string, opts: { region?: string; limit: string }) => {
      const { deps: d, region } = await deps(program, opts.region);
      const head = await d.store.getHead(region, family);
      const history = await d.store.history(region, family, Number(opts.limit));
      if (!head && history.length === 0) throw new Error(`family ${family} has never been published in ${region}`);
      if (!program.opts<{ json?: boolean }>().json && head) {
        console.log(`${family} in ${region}: ${head.parameterName} -> ${head.imageId} (parameter version ${head.parameterVersion ?? '?'}, ${head.status})`);
        if (head.warning) console.log(`WARNING: ${head.warning}`);
      }
      print(program.opts<{ json?: boolean }>().json ? { head, history } : history, program, ['at', 'kind', 'imageId', 'imageName', 'parameterVersion', 'source', 'note']);
    });
  ami
    .command('rollback <family>')
    .description('point the family parameter back to an image it published before')
    .requiredOption('--to <version|ami-id>', 'a parameter version or image ID from `opsauto ami history`')
    .option('--region <region>', 'region of the family (default: the first configured region)')
    .action(async (family: string, opts: { to: string; region?: string }) => {
      const { deps: d, region } = await deps(program, opts.region);
      const head = await rollbackFamily(d, { region, family, to: opts.to });
      if (program.opts<{ json?: boolean }>().json) print(head, program);
      else console.log(`${head.parameterName} -> ${head.imageId} (parameter version ${head.parameterVersion}); newer images will move it forward again`);
    });
}
