import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseRunbook } from '@opsauto/core';
import { CORPUS_CASES } from './cases.js';
import { emulatedOperations } from './emulated.js';
import { COVERED_SERVICES, operationTable, surveyCorpus, type SurveyedDocument } from './survey.js';

// docs/runbook-survey.md, rendered from the corpus, the case table and localcloud's service definitions. The survey
// test fails when the file differs from this rendering; `npx tsx test/runbook-corpus/write-survey.ts` rewrites it.

export const SURVEY_DOC = fileURLToPath(new URL('../../docs/runbook-survey.md', import.meta.url));
const SOURCES = fileURLToPath(new URL('../fixtures/SOURCES.md', import.meta.url));

const short = (file: string) => file.replace(/^corpus\//, '').replace(/\.(ya?ml|json)$/, '');

/** Repository of each corpus file, from SOURCES.md's rows (`| runbooks/<file> | repo | path | commit |`). */
function repositories(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(SOURCES, 'utf8').split('\n')) {
    const m = /^\| runbooks\/(\S+) \| ([^ |]+)/.exec(line);
    if (m) out.set(m[1], m[2]);
  }
  return out;
}

function loadStatus(d: SurveyedDocument): string {
  try {
    parseRunbook(d.text, { name: d.file });
    return 'loads';
  } catch (e) {
    const problems = (e as Error).message.split('\n').slice(1).map((l) => l.trim());
    const reasons = [...new Set(problems.map((p) => (/action (aws:\w+) is not supported/.exec(p)?.[1] ? `${/action (aws:\w+)/.exec(p)![1]} not supported` : p.replace(/: Invalid regular expression: .*$/, ''))))];
    return `refused: ${reasons.join('; ').replace(/\|/g, '\\|')}`;
  }
}

/**
 * The markdown of docs/runbook-survey.md.
 *
 * @example
 * writeFileSync(SURVEY_DOC, await renderSurvey());
 */
export async function renderSurvey(): Promise<string> {
  const docs = await surveyCorpus();
  const emulated = await emulatedOperations();
  const repos = repositories();
  const rows = operationTable(docs);
  const inScope = docs.filter((d) => d.outOfScopeServices.length === 0);
  const passing = CORPUS_CASES.filter((c) => c.expect === 'pass');
  const withScript = docs.filter((d) => d.actions.includes('aws:executeScript'));
  const coveredRows = rows.filter((r) => (COVERED_SERVICES as readonly string[]).includes(r.operation.split(':')[0]));
  const caseOf = new Map(CORPUS_CASES.map((c) => [c.file, c]));
  return [
    '# Survey of AWS-authored runbooks',
    '',
    `${docs.length} AWS-authored Automation runbooks (schemaVersion 0.3), kept verbatim under test/fixtures/runbooks (provenance:`,
    'test/fixtures/SOURCES.md): AWS-owned documents (awslabs/aws-systems-manager), and AWS Solutions\' remediation runbooks',
    '(aws-solutions/automated-security-response-on-aws; their `%%SCRIPT=name%%` placeholders are filled with the solution\'s',
    "own scripts, kept beside them, as its build does), and one SOP of AWS's Digito project (Resilience Hub). Everything below",
    'is computed from those files',
    '(`npx tsx test/runbook-corpus/write-survey.ts` rewrites this page; test/runbook-corpus/survey.test.ts fails when it is stale).',
    '',
    '## Scope',
    '',
    `A runbook is **in scope** when every AWS API it calls, through \`aws:executeAwsApi\`, \`aws:waitForAwsResourceProperty\`,`,
    '`aws:assertAwsResourceProperty`, its built-in actions or boto3 in its `aws:executeScript` scripts, belongs to a service',
    `opsauto covers: ${COVERED_SERVICES.join(', ')} (EBS is part of EC2's API). CloudFormation stacks, Lambda functions`,
    'created by the runbook, IAM, KMS, SQS, CloudTrail, CloudWatch Logs, AWS Config and Security Hub are out of scope.',
    '',
    `- collected: **${docs.length}**; in scope: **${inScope.length}**; ${withScript.length} use aws:executeScript`,
    `- in scope and passing end to end on the local stage today: **runs: ${passing.length}/${CORPUS_CASES.length}** (test/e2e/runbook-corpus.e2e.test.ts,`,
    '  which starts each one unmodified against a seeded fleet and checks its effect with the SDK)',
    '',
    '## Operations',
    '',
    'Every (service, operation) the runbooks call; "emulated" means localcloud serves it (read from its service',
    "definitions' `operations` maps). via: api = executeAwsApi/wait/assert, script = boto3 in aws:executeScript, action = a",
    'built-in action.',
    '',
    '| operation | runbooks using it | emulated | via |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.operation} | ${r.documents.length} | ${emulated.has(r.operation) ? 'yes' : 'no'} | ${r.via.join(', ')} |`),
    '',
    `In the covered services: ${coveredRows.length} operations, ${coveredRows.filter((r) => emulated.has(r.operation)).length} emulated; used by two runbooks or more and not emulated: ${
      coveredRows
        .filter((r) => r.documents.length >= 2 && !emulated.has(r.operation))
        .map((r) => r.operation)
        .join(', ') || 'none'
    }.`,
    '',
    '## Documents',
    '',
    'Status of each document: for those in scope, the row of test/runbook-corpus/cases.ts that the corpus test keeps true',
    '(it fails when a passing document stops passing, or an expected-to-fail one starts passing).',
    '',
    '| document | source | scope | loads | status |',
    '|---|---|---|---|---|',
    ...docs.map((d) => {
      const c = caseOf.get(d.file);
      const scope = d.outOfScopeServices.length === 0 ? 'in scope' : `out: ${d.outOfScopeServices.join(', ')}`;
      const status = !c ? '—' : c.expect === 'pass' ? '**passes**' : `expected to fail: ${c.expect.fail.replace(/\|/g, '\\|')}`;
      return `| ${short(d.file)} | ${repos.get(d.file) ?? '?'} | ${scope} | ${loadStatus(d)} | ${status} |`;
    }),
    '',
  ].join('\n');
}
