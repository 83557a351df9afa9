import { AwsClients, tableName, type ClientSettings } from '@opsauto/aws';
import type { Clock, OpsautoConfig } from '@opsauto/core';
import type { Command } from 'commander';
import { ControlClient, localcloudUrl } from './control-client.js';
import { LOCAL_STAGE } from './local-stage.js';
import { loadProjectConfig } from './project.js';

export { LOCAL_STAGE } from './local-stage.js';

export interface GlobalOptions {
  stage: string;
  endpoint?: string;
  json?: boolean;
}

/** What a CLI command needs to act on a stage like its functions do. */
export interface StageContext {
  config: OpsautoConfig;
  stage: string;
  /** SDK settings: localcloud's endpoint and local credentials for `local`, the SDK's defaults otherwise. */
  settings: ClientSettings;
  /** Clients of the home region (the first configured one), where the table lives. */
  clients: AwsClients;
  tableName: string;
  /** The local stage's virtual time, so that what the CLI records lines up with what its functions record. */
  clock: Clock;
}

export async function stageContext(program: Command): Promise<StageContext> {
  const { stage, endpoint } = program.opts<GlobalOptions>();
  const config = await loadProjectConfig();
  const local = stage === LOCAL_STAGE;
  const url = localcloudUrl(endpoint);
  const settings: ClientSettings = local ? { endpoint: url, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : endpoint ? { endpoint } : {};
  const offsetMs = local ? (await new ControlClient(url).request<{ offsetMs: number }>('GET', 'clock')).offsetMs : 0;
  return {
    config,
    stage,
    settings,
    clients: new AwsClients(config.regions[0], settings),
    tableName: tableName(config.app, stage),
    clock: { now: () => new Date(Date.now() + offsetMs) },
  };
}
