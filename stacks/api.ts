import { manifest, type FunctionDefinition } from '@opsauto/functions';
import type { CfnStage } from 'aws-cdk-lib/aws-apigatewayv2';
import type { Construct } from 'constructs';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Api as HttpApi, dependsOn, Function as SstFunction, use, type StackContext } from 'sst/constructs';
import config from '../opsauto.config.js';
import { Automation } from './automation.js';
import { functionFromManifest, type FunctionWiring } from './function-from-manifest.js';
import { buildHybridNodeRole } from './hybrid-node-role.js';
import { Storage } from './storage.js';

/** API-wide throttling: a booting fleet retries, and one misbehaving script must not exhaust the account's limit. */
export const apiThrottle = { burst: 50, rate: 20 } as const;

/** The HTTP API (payload format 2.0): one route per manifest `http` trigger, IAM-authorised unless it says `auth: 'none'`. */
export function Api({ stack, app }: StackContext) {
  const { tableName } = use(Storage);
  const { functions } = use(Automation);
  dependsOn(Storage);
  const api = buildApi(stack, manifest(config), { config, stage: app.stage, tableName }, functions);
  // The role activations give hybrid nodes by default; the activation API may pass it (and only it and the config's).
  const hybridNodeRole = buildHybridNodeRole(stack, tableName);
  stack.addOutputs({ ApiEndpoint: api.url, HybridNodeRoleName: hybridNodeRole.roleName });
  return { api, hybridNodeRole };
}

/**
 * Routes every `http` trigger of `definitions`. A function that already exists (built by the Automation stack
 * because it also has other triggers) is reused, so that each manifest function is deployed once.
 * Exported so that tests can build it from fixture entries.
 */
export function buildApi(
  scope: Construct,
  definitions: FunctionDefinition[],
  wiring: FunctionWiring,
  existing: Record<string, SstFunction | lambda.Function> = {},
): HttpApi<Record<string, never>> {
  const routes: Record<string, { function: SstFunction; authorizer: 'iam' | 'none' }> = {};
  const throttled: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};
  for (const definition of definitions) {
    const httpTriggers = definition.triggers.filter((trigger) => trigger.type === 'http');
    if (httpTriggers.length === 0) continue;
    const fn = existing[definition.name] ?? functionFromManifest(scope, definition, wiring);
    // Routes are SST's: a Node.js function of the manifest (a Python one has no HTTP trigger).
    if (!(fn instanceof SstFunction)) throw new Error(`manifest function ${definition.name}: an HTTP route needs a Node.js function`);
    for (const trigger of httpTriggers) {
      const routeKey = `${trigger.method} ${trigger.path}`;
      if (routes[routeKey]) throw new Error(`manifest: route "${routeKey}" is declared twice (${definition.name})`);
      // IAM unless a route says otherwise: a caller must sign with SigV4 as a principal allowed execute-api:Invoke.
      routes[routeKey] = { function: fn, authorizer: trigger.auth ?? 'iam' };
      if (trigger.throttle) throttled[routeKey] = { ThrottlingRateLimit: trigger.throttle.rateLimit, ThrottlingBurstLimit: trigger.throttle.burstLimit };
    }
  }
  const api = new HttpApi<Record<string, never>>(scope, 'Api', {
    // Callers are servers and scripts, not browsers.
    cors: false,
    defaults: { throttle: apiThrottle },
    routes,
  });
  if (Object.keys(throttled).length > 0) {
    // Route settings of the stage (SST's Api sets only the default ones): a map of route key to its limits.
    const stage = api.cdk.httpApi.defaultStage?.node.defaultChild as CfnStage | undefined;
    if (!stage) throw new Error('the HTTP API has no default stage to throttle routes on');
    stage.routeSettings = throttled;
  }
  return api;
}
