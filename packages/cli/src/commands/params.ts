import { SsmParameterCatalog, SsmParameterPolicies } from '@opsauto/aws';
import { applyParameterPolicies, describePolicy, parameterDeadlines, parseSpan, ValidationError, type ApplyPoliciesResult, type Clock, type PolicyRequest } from '@opsauto/core';
import type { Command } from 'commander';
import { print } from '../output.js';
import { addExpiringCommand } from './params-expiring.js';
import { addNotificationsCommand } from './params-notifications.js';
import { stageContext, type GlobalOptions } from '../stage-context.js';

/** The CLI flag of each field a policy request names, for error messages. */
const FLAGS: Record<string, string> = { expires: '--expires', expiresIn: '--expires-in', notifyBefore: '--notify-before', noChangeAfter: '--no-change-after' };

/** Parameter Store of the chosen stage and region (default: the first configured region), and the stage's clock. */
async function context(program: Command, region?: string) {
  const { config, clients, clock } = await stageContext(program);
  const r = region ?? config.regions[0];
  return { config, clock, policies: new SsmParameterPolicies(clients, r), catalog: new SsmParameterCatalog(clients, r) };
}

/** `in 14d 3h` (to the nearest hour), or `passed`. */
function fromNow(dueAt: string, now: Date): string {
  const ms = Date.parse(dueAt) - now.getTime();
  if (ms <= 0) return 'passed';
  const hours = Math.round(ms / 3_600_000);
  return `in ${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** Runs a policy request, with a ValidationError's field said as the flag the operator typed. */
async function apply(run: () => Promise<ApplyPoliciesResult>): Promise<ApplyPoliciesResult> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof ValidationError && e.field && FLAGS[e.field] && e.message.startsWith(`${e.field}: `)) throw new ValidationError(`${FLAGS[e.field]}: ${e.message.slice(e.field.length + 2)}`, e.field);
    throw e;
  }
}

/** Prints a parameter's policies in words, each with the time it is due (as the sweep computes it). */
async function show(program: Command, ctx: Awaited<ReturnType<typeof context>>, name: string, clock: Clock, extra: Record<string, unknown> = {}): Promise<void> {
  const parameter = await ctx.catalog.describe(name);
  if (!parameter) throw new Error(`parameter ${name} does not exist`);
  const tags = await ctx.catalog.tags(name);
  const { expiryTag, tagReminders } = ctx.config.parameterExpiry;
  const deadlines = parameterDeadlines({ ...parameter, tags }, { expiryTag, tagReminders: tagReminders.map((r) => parseSpan(r, 'parameterExpiry.tagReminders')) });
  const now = clock.now();
  const { policies, ...meta } = parameter;
  if (program.opts<GlobalOptions>().json) {
    print({ ...extra, parameter: meta, tags, policies: policies.map((p) => ({ ...p, text: describePolicy(p) })), deadlines }, program);
    return;
  }
  console.log(`${name}: ${parameter.type}, ${parameter.tier} tier, version ${parameter.version}, last changed ${parameter.lastModifiedDate}`);
  const rows = deadlines.map((d) => ({ policy: d.policy, kind: d.kind, source: d.source, due: d.dueAt, when: fromNow(d.dueAt, now) }));
  // A policy without a computable due time (a reminder without an expiry, written by something else) is still listed.
  for (const p of policies) if (!deadlines.some((d) => d.source === 'policy' && d.policy === describePolicy(p))) rows.push({ policy: describePolicy(p), kind: p.type, source: 'policy', due: '', when: 'never: no expiry' });
  if (rows.length === 0) console.log('no policies');
  else print(rows, program, ['policy', 'kind', 'source', 'due', 'when']);
}

/**
 * `opsauto params`: parameter policies (`policy set|show|clear`), the notices sent (`notifications`) and what expires
 * soon (`expiring`). Returns the `params` command.
 */
export function registerParams(program: Command): Command {
  const params = program.command('params');
  const policy = params.command('policy').description('Parameter Store policies: expiry, reminders before it, no-change notices (advanced tier only)');

  policy
    .command('set <name>')
    .description("add policies to a parameter (merged with its policies unless --replace); its value, type, key, tags and description are kept")
    .option('--expires <date>', 'expire (AWS deletes the parameter) at this date (2027-03-01, midnight UTC) or ISO 8601 time')
    .option('--expires-in <span>', 'expire this long from now: 90d, 12h')
    .option('--notify-before <span>', 'a reminder this long before the expiry (repeatable): 15d, 12h', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--no-change-after <span>', 'a notice when the parameter has not changed for this long: 30d')
    .option('--replace', "the given policies are the whole new set: drop the parameter's others")
    .option('--allow-advanced', 'upgrade a standard parameter to the advanced tier (charged, irreversible), which policies need')
    .option('--region <region>', 'region of the parameter (default: the first configured region)')
    .action(async (name: string, opts: { expires?: string; expiresIn?: string; notifyBefore: string[]; changeAfter?: string | boolean; replace?: boolean; allowAdvanced?: boolean; region?: string }) => {
      const ctx = await context(program, opts.region);
      const request: PolicyRequest = {
        ...(opts.expires !== undefined ? { expires: opts.expires } : {}),
        ...(opts.expiresIn !== undefined ? { expiresIn: opts.expiresIn } : {}),
        notifyBefore: opts.notifyBefore,
        // `--no-change-after` reads as commander's negation of `--change-after`: true when absent, the span when given.
        ...(typeof opts.changeAfter === 'string' ? { noChangeAfter: opts.changeAfter } : {}),
        ...(opts.replace ? { replace: true } : {}),
      };
      const result = await apply(() => applyParameterPolicies({ parameters: ctx.policies, clock: ctx.clock }, name, request, { allowAdvanced: Boolean(opts.allowAdvanced) }));
      if (result.status === 'needs-advanced') {
        throw new Error(
          `${name} is a standard-tier parameter. ${result.note} Nothing was changed. To upgrade it and set ${result.plan.added.join('; ')}, run the command again with --allow-advanced.`,
        );
      }
      const { plan } = result;
      if (!program.opts<GlobalOptions>().json) {
        if (result.status === 'unchanged') console.log(`${name} already has these policies: nothing written`);
        else {
          console.log(`${name}: policies set as version ${result.version}${plan.upgrade ? ' (upgraded to the advanced tier)' : ''}`);
          for (const p of plan.added) console.log(`  added   ${p}`);
          for (const p of plan.removed) console.log(`  removed ${p}`);
        }
      }
      await show(program, ctx, name, ctx.clock, { status: result.status, version: result.version, upgraded: plan.upgrade, added: plan.added, removed: plan.removed });
    });

  policy
    .command('show <name>')
    .description("a parameter's policies in words, each with when it is due (and an expiry tag's reminders)")
    .option('--region <region>', 'region of the parameter (default: the first configured region)')
    .action(async (name: string, opts: { region?: string }) => {
      const ctx = await context(program, opts.region);
      await show(program, ctx, name, ctx.clock);
    });

  policy
    .command('clear <name>')
    .description('remove every policy of a parameter (it stays advanced: AWS never moves a parameter back to standard)')
    .option('--region <region>', 'region of the parameter (default: the first configured region)')
    .action(async (name: string, opts: { region?: string }) => {
      const ctx = await context(program, opts.region);
      const result = await apply(() => applyParameterPolicies({ parameters: ctx.policies, clock: ctx.clock }, name, { clear: true }));
      if (result.status === 'needs-advanced') throw new Error(`internal error: clearing ${name} asked for the advanced tier`);
      if (program.opts<GlobalOptions>().json) return print({ status: result.status, parameter: name, version: result.version, tier: result.tier, removed: result.plan.removed }, program);
      if (result.status === 'unchanged') console.log(`${name} has no policies: nothing written`);
      else console.log(`${name}: policies cleared as version ${result.version} (${result.plan.removed.join('; ')}); it stays ${result.tier}`);
    });

  addNotificationsCommand(params);
  addExpiringCommand(params);
  return params;
}
