import { join } from 'node:path';
import type { Command } from 'commander';
import { PortInUseError } from '@opsauto/localcloud';
import { buildConsoleIfStale, consoleBuildProblem } from '../console-build.js';
import { requireLocalStage } from '../local-stage.js';
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
      requireLocalStage(program, 'local', 'runs the local stage only', `to deploy --stage ${program.opts<{ stage: string }>().stage}, npm run deploy -- --stage ${program.opts<{ stage: string }>().stage}`);
      const config = await loadProjectConfig();
      // Lines carry the virtual time (what a schedule or a runbook sees), to the second; real time until the stage is up.
      let now = () => Date.now();
      const stamp = () => new Date(now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
      // Ctrl-C (SIGINT), SIGTERM (also what npm forwards when its own process is stopped) and a closed terminal
      // (SIGHUP) stop the stage, once it is up if it is still starting (never half-provisioned); a repeated signal
      // while it stops is ignored rather than killing it half-saved. Handled from the start, before "is up" is printed.
      let stopping = false;
      const stop = (why: string) => {
        if (stopping) return;
        stopping = true;
        clearInterval(parentWatch);
        starting
          .then((stage) => stage.stop())
          .then(
            () => {
              console.log(`${stamp()} opsauto local stage stopped (${why}); state kept in ${opts.dataDir}`);
              process.exit(0);
            },
            (e: unknown) => {
              // A stage that failed to start has said why (below); one that failed to stop says so here.
              if (!startFailed) console.error(`opsauto: the local stage did not stop cleanly (${why}): ${e instanceof Error ? e.message : String(e)}`);
              process.exit(1);
            },
          );
      };
      for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => stop(signal));
      // Started by `npm start`: npm hands a signal to the shell it runs the script in, which dies without passing it
      // on. Run by npm, the stage lives as long as the script's shell: when it is gone (this process is re-parented),
      // stop. Run directly, it is left alone (`nohup opsauto local &` outlives its shell, as asked).
      const parent = process.ppid;
      const parentWatch = setInterval(() => {
        if (process.env.npm_lifecycle_event !== undefined && process.ppid !== parent) stop('npm, which started it, ended');
      }, 250);
      parentWatch.unref();

      // The console page, built when its sources changed since the last build (a second); the stage runs without it.
      try {
        if (buildConsoleIfStale() === 'built') console.log(`${stamp()} console built (packages/console/dist)`);
      } catch (e) {
        console.error(`${stamp()} opsauto: the console page was not built, /console/ will say so: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      }

      let startFailed = false;
      const starting = startStage({
        config,
        port: Number(opts.port),
        apiPort: Number(opts.apiPort),
        dataDir: opts.dataDir,
        fresh: opts.fresh,
        seed: opts.seed,
        functionLogLevel: opts.logLevel.toUpperCase(),
        log: (line) => console.log(`${stamp()} ${line}`),
      }).catch((e: unknown) => {
        // Which option moves the stage off a busy port.
        if (e instanceof PortInUseError) throw new Error(`${e.message}: choose another with ${e.what === 'HTTP API' ? '--api-port or API_PORT' : '--port or LOCALCLOUD_PORT'}`);
        throw e;
      });
      starting.catch(() => {
        startFailed = true;
        clearInterval(parentWatch);
      });
      const stage = await starting;
      const { cloud } = stage;
      now = () => cloud.clock.nowMs();
      const lines = [
        `opsauto local stage is up (state: ${cloud.restored ? `restored from ${opts.dataDir}` : 'new'}; virtual time ${cloud.clock.now().toISOString()})`,
        // --endpoint-url and AWS_DEFAULT_REGION: AWS CLI v1 and v2 before 2.13 ignore AWS_ENDPOINT_URL (v1 AWS_REGION too).
        `  AWS endpoint  ${cloud.url}   (AWS_DEFAULT_REGION=${config.regions[0]} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws --endpoint-url ${cloud.url} ssm get-parameters-by-path --path /opsauto --recursive)`,
        `  HTTP API      ${stage.apiUrl}`,
        `  console       ${stage.apiUrl}/console/${consoleBuildProblem() === 'missing' ? '   (not built: npm run build -w @opsauto/console)' : ''}`,
        `  control API   ${cloud.url}/_localcloud/health`,
        `  table         ${stage.tableName}`,
        '  functions:',
        ...stage.functions.flatMap((fn) => [
          `    ${fn.name}`,
          ...fn.triggers.map((t) =>
            t.type === 'event' ? `      on ${JSON.stringify(t.pattern)}` : t.type === 'http' ? `      ${t.method} ${stage.apiUrl}${t.path}` : `      ${t.expression} (${t.timezone})`,
          ),
        ]),
        `Ctrl-C (or SIGTERM) stops it; state is kept in ${opts.dataDir}.`,
      ];
      console.log(lines.join('\n'));
    });
}
