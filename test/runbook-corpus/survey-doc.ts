import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRunbook } from '@opsauto/core';
import { CORPUS_CASES } from './cases.js';
import { emulatedOperations } from './emulated.js';
import { CORPUS_ENV, CORPUS_PREFIX, corpusDir, COVERED_SERVICES, operationTable, surveyCorpus, type SurveyedDocument } from './survey.js';

// docs/runbook-survey.md, rendered from the full corpus (the committed AWS-owned documents and the local corpus
// OPSAUTO_RUNBOOK_CORPUS names), the case table and localcloud's service definitions. The survey test fails when the
// file differs from this rendering (in full with the local corpus, for the committed documents' rows without it);
// `OPSAUTO_RUNBOOK_CORPUS=<dir> npx tsx test/runbook-corpus/write-survey.ts` rewrites it.

export const SURVEY_DOC = fileURLToPath(new URL('../../docs/runbook-survey.md', import.meta.url));
const SOURCES = fileURLToPath(new URL('../fixtures/SOURCES.md', import.meta.url));

const short = (file: string) => file.replace(/^corpus\//, '').replace(/\.(ya?ml|json)$/, '');

/** One provenance row: `| file | repository | path | commit |`. */
export interface ProvenanceRow {
  file: string;
  repository: string;
  path: string;
  commit: string;
}

function provenanceRows(text: string, prefix: string): ProvenanceRow[] {
  const out: ProvenanceRow[] = [];
  for (const line of text.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 6 || !cells[1].startsWith(prefix) || cells[1] === 'file') continue;
    out.push({ file: cells[1].slice(prefix.length), repository: cells[2], path: cells[3], commit: cells[4] });
  }
  return out;
}

/**
 * The local corpus's provenance, from its SOURCES.md (`| file | repository | path | commit |`, files relative to the
 * corpus directory), with files named as the survey names them (`corpus/<file>`).
 *
 * @example
 * corpusProvenance().find((r) => r.file === 'corpus/asr__EnableKeyRotation.yaml')?.repository
 */
export function corpusProvenance(): ProvenanceRow[] {
  const dir = corpusDir();
  if (!dir) return [];
  const sources = join(dir, 'SOURCES.md');
  if (!existsSync(sources)) throw new Error(`${CORPUS_ENV}: ${sources} is missing (the provenance rows of the local corpus: | file | repository | path | commit |)`);
  return provenanceRows(readFileSync(sources, 'utf8'), '').map((r) => ({ ...r, file: `${CORPUS_PREFIX}${r.file}` }));
}

/** Repository of each corpus file: test/fixtures/SOURCES.md's `runbooks/<file>` rows, and the local corpus's rows. */
function repositories(): Map<string, string> {
  const committed = provenanceRows(readFileSync(SOURCES, 'utf8'), 'runbooks/');
  return new Map([...committed, ...corpusProvenance()].map((r) => [r.file, r.repository]));
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

/** The corpus figure `runs: N/M` claimed by the case table: rows marked 'pass' / all rows. */
export function claimedRuns(): string {
  return `runs: ${CORPUS_CASES.filter((c) => c.expect === 'pass').length}/${CORPUS_CASES.length}`;
}

/**
 * The Documents table's row of one surveyed document (its status from the case table when in scope).
 *
 * @example
 * documentRow(docs[0]) // '| AWS-CreateImage | awslabs/aws-systems-manager | in scope | loads | **passes** |'
 */
export function documentRow(d: SurveyedDocument, repos: Map<string, string> = repositories()): string {
  const c = CORPUS_CASES.find((k) => k.file === d.file);
  const scope = d.outOfScopeServices.length === 0 ? 'in scope' : `out: ${d.outOfScopeServices.join(', ')}`;
  const status = !c ? '—' : c.expect === 'pass' ? '**passes**' : `expected to fail: ${c.expect.fail.replace(/\|/g, '\\|')}`;
  return `| ${short(d.file)} | ${repos.get(d.file) ?? '?'} | ${scope} | ${loadStatus(d)} | ${status} |`;
}

/**
 * The markdown of docs/runbook-survey.md, from the full corpus: refused without OPSAUTO_RUNBOOK_CORPUS, since a page
 * rendered from the committed documents alone would drop most of the survey.
 *
 * @example
 * writeFileSync(SURVEY_DOC, await renderSurvey());
 */
export async function renderSurvey(): Promise<string> {
  const dir = corpusDir();
  if (!dir) throw new Error(`the survey page is rendered from the full corpus: set ${CORPUS_ENV} to the local corpus directory (docs/runbook-survey.md says how to rebuild it)`);
  const docs = await surveyCorpus();
  const emulated = await emulatedOperations();
  const repos = repositories();
  const provenance = corpusProvenance();
  const rows = operationTable(docs);
  const inScope = docs.filter((d) => d.outOfScopeServices.length === 0);
  const withScript = docs.filter((d) => d.actions.includes('aws:executeScript'));
  const coveredRows = rows.filter((r) => (COVERED_SERVICES as readonly string[]).includes(r.operation.split(':')[0]));
  const local = docs.filter((d) => d.file.startsWith(CORPUS_PREFIX));
  const scripts = provenance.filter((r) => r.file.startsWith(`${CORPUS_PREFIX}asr-scripts/`));
  return [
    '# Survey of AWS-authored runbooks',
    '',
    `${docs.length} AWS-authored Automation runbooks (schemaVersion 0.3): the ${docs.length - local.length} AWS-owned documents opsauto serves, committed under`,
    'test/fixtures/runbooks (provenance: test/fixtures/SOURCES.md), and a local corpus of AWS-owned documents',
    "(awslabs/aws-systems-manager), AWS Solutions' remediation runbooks (aws-solutions/automated-security-response-on-aws;",
    "their `%%SCRIPT=name%%` placeholders are filled with the solution's own scripts, as its build does) and one SOP of",
    "AWS's Digito project (Resilience Hub). Everything below is computed from those files.",
    '',
    `**The local corpus is not in this repository**: its ${local.length} documents and ${scripts.length} scripts were read through a search`,
    "tool whose terms make that material reference only. To rebuild it, fetch each file of the provenance table at the end",
    'of this page (repository, path, commit) into one directory (scripts under `asr-scripts/`), copy the table there as',
    '`SOURCES.md`, then:',
    '',
    '```sh',
    `${CORPUS_ENV}=<dir> npx vitest run test/e2e/runbook-corpus.e2e.test.ts   # prints the corpus it ran and runs: N/M`,
    `${CORPUS_ENV}=<dir> npx vitest run test/runbook-corpus/survey.test.ts      # this page is up to date`,
    `${CORPUS_ENV}=<dir> npx tsx test/runbook-corpus/write-survey.ts            # rewrites this page`,
    '```',
    '',
    'Without the variable the same tests run the committed documents only, and check their rows of this page.',
    '',
    '## Scope',
    '',
    `A runbook is **in scope** when every AWS API it calls, through \`aws:executeAwsApi\`, \`aws:waitForAwsResourceProperty\`,`,
    '`aws:assertAwsResourceProperty`, its built-in actions or boto3 in its `aws:executeScript` scripts, belongs to a service',
    `opsauto covers: ${COVERED_SERVICES.join(', ')} (EBS is part of EC2's API). CloudFormation stacks, Lambda functions`,
    'created by the runbook, IAM, KMS, SQS, CloudTrail, CloudWatch Logs, AWS Config and Security Hub are out of scope.',
    '',
    `- collected: **${docs.length}**; in scope: **${inScope.length}**; ${withScript.length} use aws:executeScript`,
    `- in scope and passing end to end on the local stage today: **${claimedRuns()}** (test/e2e/runbook-corpus.e2e.test.ts,`,
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
    ...docs.map((d) => documentRow(d, repos)),
    '',
    '## Provenance of the local corpus',
    '',
    'Files relative to the corpus directory; `asr-scripts/` holds the scripts the `asr__*` documents name.',
    '',
    '| file | repository | path | commit |',
    '|---|---|---|---|',
    ...provenance.map((r) => `| ${r.file.slice(CORPUS_PREFIX.length)} | ${r.repository} | ${r.path} | ${r.commit} |`),
    '',
  ].join('\n');
}
