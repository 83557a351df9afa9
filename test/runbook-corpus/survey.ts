import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

// The survey of AWS-authored runbooks: which AWS operations each one calls (through aws:executeAwsApi /
// aws:waitForAwsResourceProperty / aws:assertAwsResourceProperty, through the built-in actions, and through boto3 in
// its aws:executeScript scripts), computed from the files so that the tables in docs/runbook-survey.md can be rebuilt
// at any time (`OPSAUTO_RUNBOOK_CORPUS=<dir> npx tsx test/runbook-corpus/write-survey.ts`).
//
// The corpus is the AWS-owned documents committed under test/fixtures/runbooks, plus, when OPSAUTO_RUNBOOK_CORPUS
// names a directory, the documents there (listed as `corpus/<file>`), their ASR scripts under its asr-scripts/ and
// their provenance in its SOURCES.md. Those are not in the repository: they were read through a search tool whose
// terms make that material reference only (docs/runbook-survey.md says how to rebuild them).

/** test/fixtures/runbooks: the AWS-owned documents, committed. */
export const RUNBOOK_FIXTURES_DIR = fileURLToPath(new URL('../fixtures/runbooks/', import.meta.url));

/** The environment variable naming the directory of the local corpus. */
export const CORPUS_ENV = 'OPSAUTO_RUNBOOK_CORPUS';

/** Prefix of the local corpus's documents in file names (`corpus/asr__EnableKeyRotation.yaml`). */
export const CORPUS_PREFIX = 'corpus/';

/**
 * The local corpus directory OPSAUTO_RUNBOOK_CORPUS names, or undefined when it is not set.
 *
 * @example
 * corpusDir() // '/work/corpus-local' with OPSAUTO_RUNBOOK_CORPUS=/work/corpus-local
 */
export function corpusDir(): string | undefined {
  const dir = process.env[CORPUS_ENV];
  if (!dir) return undefined;
  const full = resolve(dir);
  if (!existsSync(full)) throw new Error(`${CORPUS_ENV}: ${full} does not exist (it names the directory of the local runbook corpus)`);
  return full;
}

/** The path of a corpus file (`AWS-StopEC2Instance.json`, `corpus/x.yaml`) on disk. */
export function corpusPath(file: string): string {
  if (!file.startsWith(CORPUS_PREFIX)) return join(RUNBOOK_FIXTURES_DIR, file);
  const dir = corpusDir();
  if (!dir) throw new Error(`${file} is in the local corpus: set ${CORPUS_ENV}`);
  return join(dir, file.slice(CORPUS_PREFIX.length));
}

/** The services opsauto covers (EBS is part of EC2's API); a runbook is in scope when it calls no other. */
export const COVERED_SERVICES = ['ec2', 'rds', 's3', 'ssm', 'sns', 'sts'] as const;

/** The AWS operations a built-in action calls, as the service runs it (used for the scope rule and the table). */
export const ACTION_OPERATIONS: Record<string, string[]> = {
  // aws:changeInstanceState: by DesiredState, below.
  'aws:createImage': ['ec2:CreateImage', 'ec2:DescribeImages'],
  'aws:createTags': ['ec2:CreateTags'],
  'aws:deleteImage': ['ec2:DeregisterImage', 'ec2:DeleteSnapshot', 'ec2:DescribeImages'],
  'aws:runCommand': ['ssm:SendCommand', 'ssm:ListCommandInvocations'],
  'aws:executeAutomation': ['ssm:StartAutomationExecution', 'ssm:GetAutomationExecution'],
  'aws:approve': ['sns:Publish'],
  'aws:createStack': ['cloudformation:CreateStack', 'cloudformation:DescribeStacks'],
  'aws:deleteStack': ['cloudformation:DeleteStack', 'cloudformation:DescribeStacks'],
  'aws:invokeLambdaFunction': ['lambda:Invoke'],
  'aws:runInstances': ['ec2:RunInstances', 'ec2:DescribeInstances'],
};

/** aws:changeInstanceState's call by DesiredState (all of them when the state is a parameter). */
const CHANGE_INSTANCE_STATE: Record<string, string[]> = { running: ['StartInstances'], stopped: ['StopInstances'], terminated: ['TerminateInstances'] };

/** One operation a document calls, and how. */
export interface OperationUse {
  /** `ec2:DescribeInstances`. */
  operation: string;
  via: 'api' | 'action' | 'script';
}

export interface SurveyedDocument {
  /** Under test/fixtures/runbooks (`AWS-StopEC2Instance.json`) or in the local corpus (`corpus/asr__EnableKeyRotation.yaml`). */
  file: string;
  /** The document text as AWS runs it: the file, with the ASR build's `%%SCRIPT=x%%` placeholders filled in. */
  text: string;
  /** Script placeholders whose script is not in the corpus (the document cannot be assembled). */
  missingScripts: string[];
  actions: string[];
  /** Child documents of aws:executeAutomation steps. */
  children: string[];
  /** Runtimes of aws:executeScript steps. */
  runtimes: string[];
  operations: OperationUse[];
  /** The services of its operations that opsauto does not cover. */
  outOfScopeServices: string[];
  /** Could not be read as YAML/JSON at all. */
  parseError?: string;
}

/**
 * Fills the ASR build's `%%SCRIPT=name%%` placeholders with the script of that name (source/remediation_runbooks/
 * scripts in the solution's repository, kept under the local corpus's asr-scripts/), indented like the placeholder, as the solution's
 * build does before it creates the document in the account.
 *
 * @example
 * assembleScripts('    Script: |-\n      %%SCRIPT=a.py%%\n', (n) => 'import boto3\nx = 1') // indents both lines by 6
 */
export function assembleScripts(text: string, readScript: (name: string) => string | undefined): { text: string; missing: string[] } {
  const missing: string[] = [];
  const out = text.replace(/^([ \t]*)%%SCRIPT=([^%]+)%%[ \t]*$/gm, (whole, indent: string, name: string) => {
    const script = readScript(name);
    if (script === undefined) {
      missing.push(name);
      return whole;
    }
    return script
      .split('\n')
      .map((line) => (line.trim() === '' ? '' : indent + line))
      .join('\n');
  });
  return { text: out, missing };
}

function readScript(name: string): string | undefined {
  const dir = corpusDir();
  if (!dir) return undefined;
  try {
    return readFileSync(join(dir, 'asr-scripts', name.replace(/^.*\//, '')), 'utf8');
  } catch {
    return undefined;
  }
}

// Operation names as the SDK spells them (DescribeDBInstances, not DescribeDbInstances): the Command classes of the
// AWS SDK v3 clients the project installs. Services without an installed client keep the naive spelling.
const SDK_PACKAGES: Record<string, string> = {
  ec2: '@aws-sdk/client-ec2',
  rds: '@aws-sdk/client-rds',
  s3: '@aws-sdk/client-s3',
  ssm: '@aws-sdk/client-ssm',
  sns: '@aws-sdk/client-sns',
  sts: '@aws-sdk/client-sts',
  cloudformation: '@aws-sdk/client-cloudformation',
  dynamodb: '@aws-sdk/client-dynamodb',
  events: '@aws-sdk/client-eventbridge',
};
const sdkNames = new Map<string, Map<string, string>>();

async function loadSdkNames(services: Iterable<string>): Promise<void> {
  for (const service of services) {
    const pkg = SDK_PACKAGES[service];
    if (!pkg || sdkNames.has(service)) continue;
    const mod = (await import(pkg)) as Record<string, unknown>;
    const names = new Map<string, string>();
    for (const key of Object.keys(mod)) if (key.endsWith('Command') && key !== 'Command') names.set(key.slice(0, -7).toLowerCase(), key.slice(0, -7));
    sdkNames.set(service, names);
  }
}

function operationName(service: string, api: string): string {
  const squashed = api.replace(/_/g, '').toLowerCase();
  const known = sdkNames.get(service)?.get(squashed);
  if (known) return known;
  return api.includes('_') || /^[a-z]/.test(api) ? api.split('_').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('') : api;
}

/** boto3 service names as used in policies and by the SDK. */
function serviceName(boto: string): string {
  const aliases: Record<string, string> = { 'elbv2': 'elasticloadbalancing', 'logs': 'logs', 's3control': 's3control' };
  return aliases[boto] ?? boto.toLowerCase();
}

const NOT_OPERATIONS = new Set(['get_paginator', 'get_waiter', 'can_paginate', 'close', 'exceptions', 'meta']);

/**
 * The AWS operations a Python script calls through boto3: clients made with `boto3.client('ec2')`,
 * `session.client('ec2', …)` or a helper function that returns one, then `client.describe_instances(…)` and
 * `client.get_paginator('describe_instances')`.
 *
 * @example
 * scriptOperations("import boto3\nec2 = boto3.client('ec2')\nec2.describe_instances()") // [{ service: 'ec2', api: 'describe_instances' }]
 */
export function scriptOperations(script: string): { service: string; api: string }[] {
  const clientCall = String.raw`(?:[\w.]+\.)?client\(\s*(?:service_name\s*=\s*)?['"]([\w-]+)['"]`;
  const factories = new Map<string, string>();
  // def connect_to_ec2(...):\n    return boto3.client('ec2', ...)
  for (const m of script.matchAll(new RegExp(String.raw`def\s+(\w+)\s*\([^)]*\)\s*(?:->[^:]+)?:\s*\n(?:\s*(?:#.*|""".*?"""|'''.*?''')?\n)*?\s*return\s+` + clientCall, 'gs'))) {
    factories.set(m[1], m[2]);
  }
  // def connect_to_service(service):\n    return boto3.client(service, ...), called as connect_to_service('iam')
  const serviceFactories = new Set<string>();
  for (const m of script.matchAll(/def\s+(\w+)\s*\(\s*(\w+)[^)]*\)\s*(?:->[^:]+)?:\s*\n\s*return\s+(?:[\w.]+\.)?client\(\s*(\w+)\s*[,)]/g)) {
    if (m[2] === m[3]) serviceFactories.add(m[1]);
  }
  const clients = new Map<string, string>();
  for (const fn of serviceFactories) {
    for (const m of script.matchAll(new RegExp(String.raw`([\w.]+)\s*=\s*${fn}\s*\(\s*['"]([\w-]+)['"]`, 'g'))) clients.set(m[1], m[2]);
  }
  for (const m of script.matchAll(new RegExp(String.raw`([\w.]+)\s*=\s*` + clientCall, 'g'))) clients.set(m[1], m[2]);
  for (const [fn, service] of factories) {
    for (const m of script.matchAll(new RegExp(String.raw`([\w.]+)\s*=\s*${fn}\s*\(`, 'g'))) clients.set(m[1], service);
  }
  const found: { service: string; api: string }[] = [];
  const add = (service: string, api: string) => {
    if (!found.some((f) => f.service === service && f.api === api)) found.push({ service, api });
  };
  // boto3.client('ec2').describe_instances(  /  connect_to_ec2().describe_instances(
  for (const m of script.matchAll(new RegExp(clientCall + String.raw`[^)]*\)\s*\.\s*([a-z][a-z0-9_]*)\s*\(`, 'g'))) if (!NOT_OPERATIONS.has(m[2])) add(m[1], m[2]);
  for (const [fn, service] of factories) {
    for (const m of script.matchAll(new RegExp(String.raw`\b${fn}\s*\([^)]*\)\s*\.\s*([a-z][a-z0-9_]*)\s*\(`, 'g'))) if (!NOT_OPERATIONS.has(m[1])) add(service, m[1]);
  }
  for (const [variable, service] of clients) {
    const v = variable.replace(/\./g, '\\.');
    for (const m of script.matchAll(new RegExp(String.raw`(?<![\w.])${v}\s*\.\s*([a-z][a-z0-9_]*)\s*\(`, 'g'))) {
      if (!NOT_OPERATIONS.has(m[1])) add(service, m[1]);
    }
    for (const m of script.matchAll(new RegExp(String.raw`(?<![\w.])${v}\s*\.\s*get_paginator\(\s*['"](\w+)['"]`, 'g'))) add(service, m[1]);
  }
  return found.map((f) => ({ service: serviceName(f.service), api: f.api }));
}

interface StepLike {
  action?: unknown;
  inputs?: Record<string, unknown>;
}

/** Surveys one document's text (already assembled). */
async function surveyText(file: string, text: string, missingScripts: string[]): Promise<SurveyedDocument> {
  const doc: SurveyedDocument = { file, text, missingScripts, actions: [], children: [], runtimes: [], operations: [], outOfScopeServices: [] };
  let parsed: { mainSteps?: StepLike[] };
  try {
    parsed = (/^\s*[{[]/.test(text) ? JSON.parse(text) : parseYaml(text)) as { mainSteps?: StepLike[] };
  } catch (error) {
    doc.parseError = (error as Error).message.split('\n')[0];
    return doc;
  }
  const raw: { service: string; api: string; via: OperationUse['via'] }[] = [];
  const visit = (steps: StepLike[] | undefined) => {
    for (const step of steps ?? []) {
      const action = typeof step.action === 'string' ? step.action : String(step.action);
      if (!doc.actions.includes(action)) doc.actions.push(action);
      const inputs = step.inputs ?? {};
      if (['aws:executeAwsApi', 'aws:waitForAwsResourceProperty', 'aws:assertAwsResourceProperty'].includes(action)) {
        raw.push({ service: typeof inputs.Service === 'string' ? inputs.Service.toLowerCase() : '?', api: typeof inputs.Api === 'string' ? inputs.Api : '?', via: 'api' });
      } else if (action === 'aws:executeScript') {
        if (typeof inputs.Runtime === 'string' && !doc.runtimes.includes(inputs.Runtime)) doc.runtimes.push(inputs.Runtime);
        if (typeof inputs.Script === 'string') for (const op of scriptOperations(inputs.Script)) raw.push({ ...op, via: 'script' });
      } else if (action === 'aws:changeInstanceState') {
        const desired = typeof inputs.DesiredState === 'string' ? inputs.DesiredState : '';
        const change = CHANGE_INSTANCE_STATE[desired] ?? Object.values(CHANGE_INSTANCE_STATE).flat();
        for (const api of [...change, 'DescribeInstanceStatus']) raw.push({ service: 'ec2', api, via: 'action' });
      } else {
        for (const op of ACTION_OPERATIONS[action] ?? []) {
          const [service, api] = op.split(':') as [string, string];
          raw.push({ service, api, via: 'action' });
        }
      }
      if (action === 'aws:executeAutomation' && typeof inputs.DocumentName === 'string' && !doc.children.includes(inputs.DocumentName)) doc.children.push(inputs.DocumentName);
      if (action === 'aws:loop') visit((inputs as { Steps?: StepLike[] }).Steps);
    }
  };
  visit(parsed?.mainSteps);
  await loadSdkNames(new Set(raw.map((r) => r.service)));
  for (const r of raw) {
    const operation = `${r.service}:${operationName(r.service, r.api)}`;
    if (!doc.operations.some((o) => o.operation === operation && o.via === r.via)) doc.operations.push({ operation, via: r.via });
    if (!(COVERED_SERVICES as readonly string[]).includes(r.service) && !doc.outOfScopeServices.includes(r.service)) doc.outOfScopeServices.push(r.service);
  }
  return doc;
}

/** The corpus's document files, in name order: the committed ones, and the local corpus's as `corpus/<file>` when set. */
export function corpusFiles(): string[] {
  const documents = (dir: string) => readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f));
  const local = corpusDir();
  return [...documents(RUNBOOK_FIXTURES_DIR), ...(local ? documents(local).map((f) => `${CORPUS_PREFIX}${f}`) : [])].sort();
}

/** Every document of the corpus, surveyed, in file-name order. */
export async function surveyCorpus(): Promise<SurveyedDocument[]> {
  const out: SurveyedDocument[] = [];
  for (const file of corpusFiles()) {
    const { text, missing } = assembleScripts(readFileSync(corpusPath(file), 'utf8'), readScript);
    out.push(await surveyText(file, text, missing));
  }
  return out;
}

/** operation → the documents that use it, most used first (then by name). */
export function operationTable(docs: SurveyedDocument[]): { operation: string; documents: string[]; via: string[] }[] {
  const rows = new Map<string, { documents: Set<string>; via: Set<string> }>();
  for (const d of docs) {
    for (const o of d.operations) {
      const row = rows.get(o.operation) ?? { documents: new Set(), via: new Set() };
      row.documents.add(d.file);
      row.via.add(o.via);
      rows.set(o.operation, row);
    }
  }
  return [...rows]
    .map(([operation, r]) => ({ operation, documents: [...r.documents].sort(), via: [...r.via].sort() }))
    .sort((a, b) => b.documents.length - a.documents.length || a.operation.localeCompare(b.operation));
}
