import { join } from 'node:path';
import type { Command } from 'commander';
import { loadProjectConfig, projectRoot } from '../project.js';
import { startStage } from '../stage.js';

export const DEMO_SEED = join(projectRoot, 'packages/cli/seeds/demo-fleet.yaml');

export function localCommand(program: Command): void {
  program
    .command('local')
    .option('--port <port>', 'AWS endpoint port (env LOCALCLOUD_PORT)', process.env.LOCALCLOUD_PORT ?? '4566')
    .option('--api-port <port>', 'HTTP API port (env API_PORT)', process.env.API_PORT ?? '3000')
    .option('--data-dir <dir>', 'where state is kept between runs', join(projectRoot, '.localcloud'))
    .option('--fresh', 'start empty, ignoring (and then replacing) the saved state')
    .option('--seed <file>', 'fleet file (YAML) to load when the state is new', DEMO_SEED)
    .option('--no-seed', 'load no fleet')
    .option('--log-level <level>', "level of the functions' own JSON logs (DEBUG, INFO, WARN, ERROR)", 'WARN')
    .action(async (opts: { port: string; apiPort: string; dataDir: string; fresh?: boolean; seed: string | false; logLevel: string }) => {
      const config = await loadProjectConfig();
      // Lines carry the virtual time (what a schedule or a runbook sees), to the second; real time until the stage is up.
      let now = () => Date.now();
      const stamp = () => new Date(now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
      const stage = await startStage({
        config,
        port: Number(opts.port),
        apiPort: Number(opts.apiPort),
        dataDir: opts.dataDir,
        fresh: opts.fresh,
        seed: opts.seed,
        functionLogLevel: opts.logLevel.toUpperCase(),
        log: (line) => console.log(`${stamp()} ${line}`),
      });
      const { cloud } = stage;
      now = () => cloud.clock.nowMs();
      const lines = [
        `opsauto local stage is up (state: ${cloud.restored ? `restored from ${opts.dataDir}` : 'new'}; virtual time ${cloud.clock.now().toISOString()})`,
        `  AWS endpoint  ${cloud.url}   (AWS_ENDPOINT_URL=${cloud.url} aws ssm get-parameters-by-path --path /opsauto --recursive)`,
        `  HTTP API      ${stage.apiUrl}`,
        `  control API   ${cloud.url}/_localcloud/health`,
        `  table         ${stage.tableName}`,
        '  functions:',
        ...stage.functions.flatMap((fn) => [
          `    ${fn.name}`,
          ...fn.triggers.map((t) =>
            t.type === 'event' ? `      on ${JSON.stringify(t.pattern)}` : t.type === 'http' ? `      ${t.method} ${stage.apiUrl}${t.path}` : `      ${t.expression} (${t.timezone})`,
          ),
        ]),
        'Ctrl-C stops it; state is kept in the data dir.',
      ];
      console.log(lines.join('\n'));
      const stop = () => {
        void stage.stop().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
