import { readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseRunbook, runbookIamActions, type Runbook } from '@opsauto/core';

// What each runbook automation's role may do, derived from its runbooks' steps: the stacks turn it into IAM
// policies, and the local stage registers the same actions with localcloud, which then refuses anything else.

/** Where the runbooks the roles are derived from live, relative to the project root. */
export const RUNBOOK_DIRECTORIES = ['runbooks', 'packages/localcloud/aws-documents'];

/**
 * Every runbook document the stacks know by name: the shipped ones (`runbooks/`) and the AWS-owned ones opsauto
 * knows (`packages/localcloud/aws-documents/`), parsed with core's runbook parser.
 */
export function knownRunbooks(root: string): Map<string, Runbook> {
  const known = new Map<string, Runbook>();
  for (const directory of RUNBOOK_DIRECTORIES) {
    for (const file of readdirSync(join(root, directory)).filter((f) => /\.(ya?ml|json)$/.test(f)).sort()) {
      const name = basename(file, extname(file));
      known.set(name, parseRunbook(readFileSync(join(root, directory, file), 'utf8'), { name }));
    }
  }
  return known;
}

/** The IAM actions an automation's role needs: every action any of its runbooks can call. */
export function automationActions(automation: { name: string; runbooks: string[] }, known: Map<string, Runbook>): string[] {
  const actions = new Set<string>();
  for (const name of automation.runbooks) {
    const runbook = known.get(name);
    if (!runbook) {
      throw new Error(`runbook automation ${automation.name}: runbook ${name} is neither in runbooks/ nor an AWS-owned document opsauto knows, so its role cannot be derived`);
    }
    for (const action of runbookIamActions(runbook, (child) => known.get(child))) actions.add(action);
  }
  return [...actions].sort();
}

