/**
 * SSM service settings (GetServiceSetting, UpdateServiceSetting, ResetServiceSetting): account-level switches
 * whose defaults AWS's service team sets, per account and region. A SettingId is the setting's path
 * (`/ssm/parameter-store/high-throughput-enabled`) or its ARN (`arn:aws:ssm:REGION:ACCOUNT:servicesetting/ssm/…`).
 * Only the settings listed here exist; any other answers ServiceSettingNotFound, as AWS does for an id it does not
 * provision. `/ssm/documents/console/public-sharing-permission` set to `Disable` blocks public document sharing
 * (ssm-document-permissions.ts).
 */
import { AwsError, validation } from '../errors.js';
import type { Store } from '../store.js';
import type { Operation, RequestContext } from './types.js';

export const SETTINGS_SERVICE = 'ssm.settings';

export const PUBLIC_SHARING_SETTING = '/ssm/documents/console/public-sharing-permission';

/** The settings emulated, with AWS's default value and the values UpdateServiceSetting takes. */
const SETTINGS: Record<string, { default: string; values: string[] }> = {
  [PUBLIC_SHARING_SETTING]: { default: 'Enable', values: ['Enable', 'Disable'] },
  '/ssm/parameter-store/high-throughput-enabled': { default: 'false', values: ['true', 'false'] },
  '/ssm/parameter-store/default-parameter-tier': { default: 'Standard', values: ['Standard', 'Advanced', 'Intelligent-Tiering'] },
  '/ssm/managed-instance/activation-tier': { default: 'standard', values: ['standard', 'advanced'] },
  '/ssm/opsinsights/opscenter': { default: 'Disabled', values: ['Enabled', 'Disabled'] },
  '/ssm/automation/enable-adaptive-concurrency': { default: 'false', values: ['true', 'false'] },
};

interface CustomizedSetting {
  value: string;
  /** Epoch ms (virtual). */
  lastModifiedDate: number;
  lastModifiedUser: string;
}

/** Plain JSON, persisted by the store: the settings changed from their default. */
export interface SettingsState {
  /** Epoch ms (virtual) at which the account and region were first seen: the defaults' LastModifiedDate. */
  since: number;
  settings: Record<string, CustomizedSetting>;
}

function settingsState(store: Store, account: string, region: string, now: number): SettingsState {
  return store.scope<SettingsState>(SETTINGS_SERVICE, account, region, () => ({ since: now, settings: {} }));
}

const notFound = () =>
  new AwsError(
    'ServiceSettingNotFound',
    "The specified service setting wasn't found. Either the service name or the setting hasn't been provisioned by the AWS service team.",
  );

/** The setting's path from a SettingId in either form; an ARN must be this account's and region's. */
function settingPath(raw: unknown, ctx: RequestContext): string {
  if (typeof raw !== 'string' || raw === '') {
    throw validation("1 validation error detected: Value null at 'settingId' failed to satisfy constraint: Member must not be null");
  }
  if (raw.length > 1000) throw validation("1 validation error detected: Value at 'settingId' failed to satisfy constraint: Member must have length less than or equal to 1000");
  const arn = /^arn:aws[a-z-]*:ssm:([^:]*):(\d{12}):servicesetting(\/.+)$/.exec(raw);
  if (arn && (arn[1] !== ctx.region || arn[2] !== ctx.account)) throw notFound();
  const path = arn ? arn[3] : raw;
  if (!Object.hasOwn(SETTINGS, path)) throw notFound();
  return path;
}

const settingArn = (ctx: RequestContext, path: string) => `arn:aws:ssm:${ctx.region}:${ctx.account}:servicesetting${path}`;

function settingOut(ctx: RequestContext, state: SettingsState, path: string) {
  const custom = state.settings[path];
  return {
    ServiceSetting: {
      SettingId: path,
      SettingValue: custom?.value ?? SETTINGS[path].default,
      LastModifiedDate: new Date(custom?.lastModifiedDate ?? state.since),
      LastModifiedUser: custom?.lastModifiedUser ?? 'System',
      ARN: settingArn(ctx, path),
      Status: custom ? 'Customized' : 'Default',
    },
  };
}

/**
 * The current value of a setting for an account and region (its default until changed).
 *
 * @example
 * serviceSettingValue(store, '000000000000', 'us-east-1', PUBLIC_SHARING_SETTING); // 'Enable'
 */
export function serviceSettingValue(store: Store, account: string, region: string, path: string): string {
  const state = store.all<SettingsState>(SETTINGS_SERVICE).find((s) => s.account === account && s.region === region)?.state;
  return state?.settings?.[path]?.value ?? SETTINGS[path].default;
}

export const serviceSettingOperations: Record<string, Operation> = {
  GetServiceSetting(input: { SettingId?: unknown }, ctx: RequestContext) {
    const path = settingPath(input.SettingId, ctx);
    return settingOut(ctx, settingsState(ctx.store, ctx.account, ctx.region, ctx.clock.nowMs()), path);
  },
  UpdateServiceSetting(input: { SettingId?: unknown; SettingValue?: unknown }, ctx: RequestContext) {
    const path = settingPath(input.SettingId, ctx);
    const value = input.SettingValue;
    if (typeof value !== 'string' || value === '') {
      throw validation("1 validation error detected: Value null at 'settingValue' failed to satisfy constraint: Member must not be null");
    }
    const allowed = SETTINGS[path].values;
    if (!allowed.includes(value)) throw validation(`The value ${value} of SettingValue isn't valid for ${path}. Valid values: ${allowed.join(', ')}.`);
    const state = settingsState(ctx.store, ctx.account, ctx.region, ctx.clock.nowMs());
    state.settings[path] = { value, lastModifiedDate: ctx.clock.nowMs(), lastModifiedUser: ctx.caller.arn };
    return {};
  },
  ResetServiceSetting(input: { SettingId?: unknown }, ctx: RequestContext) {
    const path = settingPath(input.SettingId, ctx);
    const state = settingsState(ctx.store, ctx.account, ctx.region, ctx.clock.nowMs());
    delete state.settings[path];
    return settingOut(ctx, state, path);
  },
};
