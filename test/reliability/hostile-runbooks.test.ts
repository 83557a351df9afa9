import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { MAX_DOCUMENT_BYTES, parseRunbook, RunbookValidationError } from '../../packages/core/src/runbooks/document.js';
import { planStart, type StartPorts } from '../../packages/core/src/runbooks/start.js';
import { recordFigure } from '../helpers/figures.js';
import { describeCase, mutate, mutation, prototypePolluted, toJson } from '../helpers/hostile.js';

/**
 * Hostile runbook documents through the path `runbook start` takes (parseRunbook, then planStart with the document
 * given whole): malformed YAML, cycles, references to missing steps, documents over AWS's 64 KB, 10,000 steps,
 * 10,000-deep nesting, alias bombs, `__proto__` keys. Each is refused with a RunbookValidationError naming where,
 * or accepted; never a stack overflow or another error, never a hang (documents are bounded by size, not time).
 */

const SEED = Number(process.env.HOSTILE_SEED ?? 1414);
const RUNS = Number(process.env.HOSTILE_RUNS ?? 100);

/** Tests run, generated documents and their refusals (the README's reliability table). */
const counts = { tests: 0, generated: 0, refused: 0 };
afterEach(() => void counts.tests++);
afterAll(() => {
  recordFigure(import.meta.url, 'tests', counts.tests);
  recordFigure(import.meta.url, 'generated documents', counts.generated);
  recordFigure(import.meta.url, 'of them refused', counts.refused);
  recordFigure(import.meta.url, 'fast-check seed', String(SEED));
});

const shipped = readFileSync(new URL('../../runbooks/opsauto-DeleteVolume.yaml', import.meta.url), 'utf8');

const step = (i: number, extra = '') => `  - name: s${i}\n    action: aws:sleep\n    inputs:\n      Duration: PT1S\n${extra}`;
const doc = (steps: string, head = '') => `schemaVersion: "0.3"\n${head}mainSteps:\n${steps}`;

const ports: StartPorts = {
  accountId: '000000000000',
  region: 'us-east-1',
  policy: { allowedRunbooks: [], assumeRoles: [], defaultRoleArn: 'arn:aws:iam::000000000000:role/opsauto-test-runbook-cli' },
  loadRunbook: () => Promise.reject(new Error('documents are given whole here')),
  findInstances: () => Promise.resolve([]),
};

/** What `runbook start file.yaml` does with a document: parse it, then plan the start. */
async function start(text: string) {
  const runbook = parseRunbook(text, { name: 'hostile' });
  return planStart({ documentName: 'hostile', runbook, parameters: {} }, ports);
}

/** The RunbookValidationError a document is refused with (the test fails on any other outcome). */
async function refusal(text: string): Promise<RunbookValidationError> {
  try {
    await start(text);
  } catch (e) {
    if (e instanceof RunbookValidationError) return e;
    throw e;
  }
  throw new Error('expected the document to be refused');
}

describe('hostile runbook documents', () => {
  it.each([
    ['malformed YAML', doc('  - name: x\n    inputs: [\n'), /\(document\): is not valid YAML/],
    ['tabs as indentation', 'schemaVersion: "0.3"\n\tmainSteps: []', /\(document\): is not valid YAML: Tabs/],
    ['a duplicate key', `schemaVersion: "0.3"\nschemaVersion: "0.3"\nmainSteps:\n${step(0)}`, /\(document\): is not valid YAML: Map keys must be unique/],
    ['two YAML documents', `${doc(step(0))}---\n${doc(step(1))}`, /\(document\): holds 2 YAML documents/],
    ['truncated JSON', '{"schemaVersion": "0.3", "mainSteps": [', /\(document\): is not valid JSON/],
    ['a reference to a missing step', doc(step(0, '    nextStep: nowhere\n')), /mainSteps\[0\] \(s0\)\.nextStep: names step nowhere, which does not exist/],
    ['a `__proto__` key', doc(step(0), '__proto__: {polluted: 1}\n'), /\(document\): unknown field __proto__/],
    ['10,000 steps', doc(Array.from({ length: 10_000 }, (_, i) => step(i)).join('')), /\(document\): is \d+ bytes; an SSM document may be at most 65536 bytes/],
    ['a 1 MB description', doc(step(0), `description: "${'x'.repeat(1 << 20)}"\n`), /\(document\): is 10\d{5} bytes/],
    ['10,000-deep YAML flow nesting', `${doc(step(0))}outputs: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`, /\(document\): nests too deeply \(at most 64 levels\)/],
    ['10,000-deep JSON', `{"schemaVersion":"0.3","mainSteps":[{"name":"a","action":"aws:sleep","inputs":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}]}`, /\(document\): nests too deeply/],
    ['100-deep block nesting', `${doc(step(0))}outputs:\n${Array.from({ length: 100 }, (_, i) => `${'  '.repeat(i + 1)}k${i}:`).join('\n')} 1\n`, /\(document\): nests too deeply/],
    ['an alias bomb', `a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n${doc(step(0))}`, /\(document\): is not valid YAML: Excessive alias count/],
    ['an empty document', '', /\(document\): is empty/],
    ['a number', '42', /\(document\): must be a mapping/],
  ])('refuses %s with a RunbookValidationError naming where', async (_name, text, message) => {
    const error = await refusal(text);
    expect(error.message).toMatch(message);
    expect(error.problems.every((p) => p.path.length > 0)).toBe(true);
    // The message is bounded whatever the document's size.
    expect(error.message.length).toBeLessThan(2000);
    expect(prototypePolluted()).toBe(false);
  });

  it('accepts nextStep cycles as AWS does (a branch back to an earlier step); the engine bounds the transitions an execution makes', async () => {
    const { request } = await start(doc(step(0, '    nextStep: s1\n') + step(1, '    nextStep: s0\n')));
    expect(request.runbook.mainSteps.map((s) => s.nextStep)).toEqual(['s1', 's0']);
  });

  it('accepts a document of exactly 64 KB and refuses one byte more', async () => {
    const pad = (n: number) => doc(step(0), `description: "${'x'.repeat(n)}"\n`);
    const base = new TextEncoder().encode(pad(0)).length;
    await expect(start(pad(MAX_DOCUMENT_BYTES - base))).resolves.toBeDefined();
    expect((await refusal(pad(MAX_DOCUMENT_BYTES - base + 1))).message).toMatch(/is 65537 bytes/);
  });

  it(`refuses or accepts every mutation of a shipped runbook, as YAML and JSON, with nothing but a RunbookValidationError (fast-check seed ${SEED}, ${RUNS} cases)`, async () => {
    const base = parseYaml(shipped) as unknown;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(mutation, fc.boolean(), async (m, asJson) => {
        counts.generated++;
        const { event, where } = mutate(base, m);
        let text: string;
        try {
          text = (asJson ? toJson(event) : (toYaml(event) as string | undefined)) ?? '';
        } catch {
          text = toJson(event) ?? '';
        }
        try {
          await start(text);
        } catch (e) {
          if (!(e instanceof RunbookValidationError) && (e as Error).name !== 'ParameterValueError') {
            throw new Error(`seed ${SEED}, mutated at ${where} (${asJson ? 'JSON' : 'YAML'}): ${(e as Error).name}: ${(e as Error).message.slice(0, 300)} for ${describeCase(event)}`);
          }
          if ((e as Error).message.length > 4000) throw new Error(`seed ${SEED}: a ${(e as Error).message.length}-character message for a mutation at ${where}`);
          refused++;
        }
        if (prototypePolluted()) throw new Error(`seed ${SEED}: Object.prototype polluted by a mutation at ${where}`);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    counts.refused += refused;
    expect(refused, `seed ${SEED}`).toBeGreaterThan(RUNS / 4);
  }, 60_000);
});
