import { amiPublisherAdapters } from '@opsauto/aws';
import { rollbackFamily, type AmiPublisherDeps } from '@opsauto/core';
import { sleep } from '@opsauto/functions';
import type { Command } from 'commander';
import { print } from '../output.js';
import { stageContext, type GlobalOptions } from '../stage-context.js';

/** The AMI publisher's adapters for the chosen stage. The table is in the home region, whatever the family's region. */
async function deps(program: Command, region?: string): Promise<{ deps: AmiPublisherDeps; region: string }> {
  const { config, clients, tableName, clock } = await stageContext(program);
  return { region: region ?? config.regions[0], deps: { config, clock, sleep, ...amiPublisherAdapters(clients, tableName) } };
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new Error(`--limit must be a whole number from 1 to 1000 (got ${value})`);
  return n;
}

export function amiCommands(program: Command): void {
  const ami = program.command('ami');
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
