import { CONSOLE_GROUPS, CONSOLE_OPERATORS_GROUP, consoleName, manifest, type FunctionDefinition } from '@opsauto/functions';
import type { CfnStage } from 'aws-cdk-lib/aws-apigatewayv2';
import type { Construct } from 'constructs';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Lazy } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Api as HttpApi, dependsOn, Function as SstFunction, StaticSite, use, type StackContext } from 'sst/constructs';
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
  const auth = buildConsoleAuth(stack, consoleName(tableName));
  // Filled in once the API exists (read lazily at synth).
  const late: { apiUrl?: string } = {};
  // The console (packages/console), built at deploy time with the API's and the user pool's coordinates. Its
  // environment is read lazily: the API is built after the app client, whose callback is the site's address.
  // The page is built for /console/ (its address on the local stage too): the bucket holds it under console/, and
  // every address that is not a file answers console/index.html, so that a view's address can be bookmarked.
  const site = new StaticSite(stack, 'Console', {
    path: 'packages/console',
    buildCommand: CONSOLE_BUILD_COMMAND,
    buildOutput: 'site',
    indexPage: 'console/index.html',
    errorPage: 'redirect_to_index_page',
    environment: {
      VITE_API_URL: Lazy.string({ produce: () => late.apiUrl }),
      VITE_USER_POOL_ID: auth.userPool.userPoolId,
      VITE_USER_POOL_CLIENT_ID: Lazy.string({ produce: () => auth.client?.userPoolClientId }),
      VITE_AUTH_DOMAIN: auth.domain.baseUrl(),
      VITE_REGION: stack.region,
    },
  });
  auth.client = addConsoleClient(auth.userPool, site.url);
  const api = buildApi(stack, manifest(config), { config, stage: app.stage, tableName }, functions, { userPoolId: auth.userPool.userPoolId, clientId: auth.client.userPoolClientId, region: stack.region });
  late.apiUrl = api.url;
  // The role activations give hybrid nodes by default; the activation API may pass it (and only it and the config's).
  const hybridNodeRole = buildHybridNodeRole(stack, tableName);
  stack.addOutputs({
    ApiEndpoint: api.url,
    HybridNodeRoleName: hybridNodeRole.roleName,
    ConsoleUrl: site.url ?? '',
    ConsoleUserPoolId: auth.userPool.userPoolId,
    ConsoleUserPoolClientId: auth.client.userPoolClientId,
    ConsoleAuthDomain: auth.domain.baseUrl(),
  });
  return { api, hybridNodeRole, site, userPool: auth.userPool };
}

/**
 * Builds the console (for base /console/) straight into site/console/, laid out as the bucket serves it. Not through
 * dist/: the local stage and the browser tests read dist/, which a deploy (or `opsauto build`) must not empty under them.
 */
export const CONSOLE_BUILD_COMMAND = 'rm -rf site && npx vite build --outDir site/console --emptyOutDir';

/**
 * The console's user pool (no self sign-up: an administrator creates users and puts them in a group), its groups and
 * its hosted-UI domain (`<app>-<stage>-console`, which must be unique in the region).
 */
export function buildConsoleAuth(scope: Construct, name: string): { userPool: cognito.UserPool; domain: cognito.UserPoolDomain; client?: cognito.UserPoolClient } {
  const userPool = new cognito.UserPool(scope, 'ConsoleUsers', {
    userPoolName: name,
    selfSignUpEnabled: false,
    signInAliases: { username: true, email: true },
    passwordPolicy: { minLength: 12, requireSymbols: false },
    accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
  });
  for (const group of CONSOLE_GROUPS) {
    new cognito.CfnUserPoolGroup(scope, `ConsoleGroup-${group}`, {
      userPoolId: userPool.userPoolId,
      groupName: group,
      description: group === CONSOLE_OPERATORS_GROUP ? 'may approve, deny, resume and cancel executions from the console' : 'may only read the console',
    });
  }
  const domain = userPool.addDomain('ConsoleDomain', { cognitoDomain: { domainPrefix: name } });
  return { userPool, domain };
}

/** The console's public app client: authorization code with PKCE, no secret (a browser cannot keep one). */
export function addConsoleClient(userPool: cognito.UserPool, siteUrl: string | undefined): cognito.UserPoolClient {
  const urls = [...(siteUrl ? [`${siteUrl}/console/`] : []), 'http://127.0.0.1:3000/console/'];
  return userPool.addClient('ConsoleClient', {
    generateSecret: false,
    authFlows: { userSrp: true },
    oAuth: {
      flows: { authorizationCodeGrant: true, implicitCodeGrant: false },
      scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
      callbackUrls: urls,
      logoutUrls: urls,
    },
    preventUserExistenceErrors: true,
  });
}

/** The API's authorizers: `console`, the user pool's JWT authorizer (absent when no route is `auth: 'jwt'`). */
type ConsoleAuthorizers = { console: { type: 'user_pool'; userPool: { id: string; clientIds: string[]; region: string } } };

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
  jwt?: { userPoolId: string; clientId: string; region: string },
): HttpApi<ConsoleAuthorizers> {
  const routes: Record<string, { function: SstFunction; authorizer: 'iam' | 'none' | 'console' }> = {};
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
      const auth = trigger.auth ?? 'iam';
      if (auth === 'jwt' && !jwt) throw new Error(`manifest: route "${routeKey}" needs a JWT authorizer (the console's user pool)`);
      routes[routeKey] = { function: fn, authorizer: auth === 'jwt' ? 'console' : auth };
      if (trigger.throttle) throttled[routeKey] = { ThrottlingRateLimit: trigger.throttle.rateLimit, ThrottlingBurstLimit: trigger.throttle.burstLimit };
    }
  }
  const api = new HttpApi<ConsoleAuthorizers>(scope, 'Api', {
    // Servers and scripts need no CORS; the console (another origin: its CloudFront site) sends a bearer token, never
    // a cookie, so any origin may be allowed to read with the token it holds.
    cors: jwt ? { allowOrigins: ['*'], allowHeaders: ['authorization', 'content-type'], allowMethods: ['GET', 'POST'] } : false,
    ...(jwt ? { authorizers: { console: { type: 'user_pool' as const, userPool: { id: jwt.userPoolId, clientIds: [jwt.clientId], region: jwt.region } } } } : {}),
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
