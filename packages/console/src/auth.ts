/**
 * Sign-in for the console in AWS: Cognito's hosted UI, authorization code with PKCE (oidc-client-ts, loaded only
 * when a user pool is configured). The page gets only public settings (pool id, app client id, domain): no secret.
 * On the local stage (VITE_API_URL unset) there is no login and these functions do nothing.
 */
import type { UserManager } from 'oidc-client-ts';

const env = import.meta.env as Record<string, string | undefined>;

export interface AuthConfig {
  poolId: string;
  clientId: string;
  region: string;
  /** `https://<prefix>.auth.<region>.amazoncognito.com` or a custom domain. */
  domain: string;
  /** Where Cognito sends the browser back: the console's own address (a callback and logout URL of the app client). */
  redirectUri: string;
}

/**
 * The Cognito settings from the build's environment (VITE_USER_POOL_ID, VITE_USER_POOL_CLIENT_ID, the hosted UI's
 * VITE_COGNITO_DOMAIN or VITE_AUTH_DOMAIN, VITE_REGION or the pool id's region), or undefined when the console runs without login (VITE_API_URL
 * unset, or no user pool given).
 *
 * @example
 * authConfigFrom({ VITE_API_URL: 'https://x.execute-api.eu-west-1.amazonaws.com', VITE_USER_POOL_ID: 'eu-west-1_AbC',
 *   VITE_USER_POOL_CLIENT_ID: 'c1', VITE_COGNITO_DOMAIN: 'ops.auth.eu-west-1.amazoncognito.com' }, 'https://d.cloudfront.net/console/')
 * // { poolId: 'eu-west-1_AbC', clientId: 'c1', region: 'eu-west-1', domain: 'https://ops.auth.eu-west-1.amazoncognito.com', … }
 */
export function authConfigFrom(vars: Record<string, string | undefined>, redirectUri: string): AuthConfig | undefined {
  const { VITE_API_URL, VITE_USER_POOL_ID: poolId, VITE_USER_POOL_CLIENT_ID: clientId } = vars;
  const domain = vars.VITE_COGNITO_DOMAIN || vars.VITE_AUTH_DOMAIN;
  if (!VITE_API_URL || !poolId) return undefined;
  if (!clientId) throw new Error('VITE_USER_POOL_CLIENT_ID must be set with VITE_USER_POOL_ID');
  if (!domain) throw new Error('VITE_COGNITO_DOMAIN (or VITE_AUTH_DOMAIN) must be set with VITE_USER_POOL_ID');
  const region = vars.VITE_REGION || poolId.split('_')[0];
  return { poolId, clientId, region, domain: (/^https?:\/\//.test(domain) ? domain : `https://${domain}`).replace(/\/+$/, ''), redirectUri };
}

const config = typeof location === 'undefined' ? undefined : authConfigFrom(env, `${location.origin}${import.meta.env.BASE_URL}`);
let manager: Promise<UserManager> | undefined;

function userManager(c: AuthConfig): Promise<UserManager> {
  manager ??= import('oidc-client-ts').then(({ UserManager, WebStorageStateStore }) => {
    const issuer = `https://cognito-idp.${c.region}.amazonaws.com/${c.poolId}`;
    return new UserManager({
      authority: issuer,
      client_id: c.clientId,
      redirect_uri: c.redirectUri,
      response_type: 'code',
      scope: 'openid email profile',
      userStore: new WebStorageStateStore({ store: sessionStorage }),
      // Cognito's endpoints, given rather than discovered: one request fewer before the first view.
      metadata: {
        issuer,
        authorization_endpoint: `${c.domain}/oauth2/authorize`,
        token_endpoint: `${c.domain}/oauth2/token`,
        userinfo_endpoint: `${c.domain}/oauth2/userInfo`,
        jwks_uri: `${issuer}/.well-known/jwks.json`,
      },
    });
  });
  return manager;
}

/** True when the page signs in through Cognito. */
export const loginRequired = config !== undefined;

/**
 * Finishes a sign-in when Cognito has just redirected back with `?code=`; returns the address to show next.
 * Call once before the first render.
 */
export async function completeSignIn(): Promise<void> {
  if (!config) return;
  const params = new URLSearchParams(location.search);
  if (!params.has('code') || !params.has('state')) return;
  const user = await (await userManager(config)).signinRedirectCallback();
  const back = typeof user.state === 'string' && user.state.startsWith(import.meta.env.BASE_URL) ? user.state : import.meta.env.BASE_URL;
  history.replaceState(null, '', back);
}

/**
 * The ID token to send as `Authorization: Bearer …` (it names the user, `cognito:username` and `email`, and carries
 * `cognito:groups`; the HTTP API's JWT authorizer takes it for the app client); starts the sign-in redirect when there is none.
 */
export async function bearer(): Promise<string | undefined> {
  if (!config) return undefined;
  const m = await userManager(config);
  const user = await m.getUser();
  if (user && !user.expired) return user.id_token ?? user.access_token;
  await m.signinRedirect({ state: location.pathname + location.search });
  return new Promise<never>(() => {}); // the browser is leaving for the hosted UI
}

/** After a 401: forget the user and sign in again. */
export async function reauthenticate(): Promise<void> {
  if (!config) return;
  const m = await userManager(config);
  await m.removeUser();
  await m.signinRedirect({ state: location.pathname + location.search });
}

/** Signs out of the console and of Cognito's hosted UI. */
export async function signOut(): Promise<void> {
  if (!config) return;
  await (await userManager(config)).removeUser();
  location.assign(`${config.domain}/logout?client_id=${encodeURIComponent(config.clientId)}&logout_uri=${encodeURIComponent(config.redirectUri)}`);
}
