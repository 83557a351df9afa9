import { automationRunbooks, automationStart, ConfigError, eventReferences, parseTargets, resolveRateControl, triggerSchedule, ValidationError, type Automation, type OpsautoConfig, type Runbook } from '@opsauto/core';

/**
 * What the config schema cannot see: whether each automation's runbook exists and takes the parameters given.
 * Checked against the runbooks opsauto knows (shipped in `runbooks/`, AWS-owned ones it serves) by the stacks at
 * synth and by the local stage at start; every problem is listed, each naming the automation and the field.
 */
export function automationProblems(config: OpsautoConfig, known: ReadonlyMap<string, Runbook>): string[] {
  return config.automations.flatMap((automation, index) => problemsOf(automation, known).map((p) => `automations.${index} (${automation.name}).${p}`));
}

/**
 * @throws ConfigError listing every problem of `automationProblems`.
 * @example
 * checkAutomations(config, knownRunbooks(root));
 */
export function checkAutomations(config: OpsautoConfig, known: ReadonlyMap<string, Runbook>): void {
  const problems = automationProblems(config, known);
  if (problems.length > 0) throw new ConfigError(`invalid opsauto config:\n${problems.map((p) => `  ${p}`).join('\n')}`);
}

function problemsOf(automation: Automation, known: ReadonlyMap<string, Runbook>): string[] {
  const problems: string[] = [];
  if (!automation.runbook) {
    // Office hours and night resize: the runbooks they use must be there.
    for (const name of automationRunbooks(automation)) if (!known.has(name)) problems.push(`${automation.officeHours ? 'officeHours' : 'nightResize'}: uses ${name}, which opsauto does not have`);
    return problems;
  }
  const runbook = known.get(automation.runbook);
  if (!runbook) {
    if (/^(AWS|opsauto)-/.test(automation.runbook)) {
      problems.push(`runbook: ${automation.runbook} is neither in runbooks/ nor an AWS-owned document opsauto serves`);
    } else {
      // An account document: opsauto cannot read it here, so neither its parameters nor its role's actions.
      if (!automation.version) problems.push(`version: ${automation.runbook} is not a runbook opsauto ships; as an account document it needs its version`);
      if (!automation.role) problems.push(`role: ${automation.runbook} is an account document whose steps opsauto cannot read: give the role it runs as`);
    }
  }
  const schedule = triggerSchedule(automation.trigger);
  const references = eventReferences(automation.parameters);
  if (schedule && references.length > 0) problems.push(`parameters: {{ event.${references[0]} }} can take nothing from a schedule, which has no event`);
  if (runbook) {
    const declared = Object.keys(runbook.parameters);
    for (const name of Object.keys(automation.parameters)) {
      if (!declared.includes(name)) problems.push(`parameters.${name}: ${automation.runbook} has no such parameter (it takes ${declared.join(', ') || 'none'})`);
    }
    const target = automation.targets?.parameter;
    for (const [name, definition] of Object.entries(runbook.parameters)) {
      if (definition.default === undefined && name !== target && !(name in automation.parameters)) problems.push(`parameters.${name}: ${automation.runbook} requires it`);
    }
  }
  if (automation.targets) {
    const start = automationStart({ ...automation, parameters: {} }, { kind: 'manual', requestId: 'check', by: 'check' });
    try {
      parseTargets({ Targets: start.targets, TargetParameterName: start.targetParameterName }, runbook ? { parameterNames: Object.keys(runbook.parameters) } : {});
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      problems.push(`targets: ${e.message}`);
    }
    try {
      resolveRateControl({ maxConcurrency: automation.maxConcurrency, maxErrors: automation.maxErrors }, 1);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      problems.push(`${e.field === 'MaxErrors' ? 'maxErrors' : 'maxConcurrency'}: ${e.message}`);
    }
  }
  return problems;
}
