import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { claimedRuns, documentRow, renderSurvey, SURVEY_DOC } from './survey-doc.js';
import { assembleScripts, CORPUS_PREFIX, corpusDir, operationTable, scriptOperations, surveyCorpus, type SurveyedDocument } from './survey.js';

describe('the runbook survey', () => {
  it('reads boto3 calls through clients, client factories with and without a service argument, chains and paginators', () => {
    // Prepare
    const script = [
      'import boto3',
      'def connect_to_ec2():',
      '    return boto3.client("ec2", config=boto_config)',
      'def connect_to_service(service):',
      '    return boto3.client(service, config=boto_config)',
      "s3 = boto3.client('s3')",
      'iam = connect_to_service("iam")',
      'def handler(event, _):',
      '    ec2 = connect_to_ec2()',
      '    ec2.modify_instance_metadata_options(InstanceId="i-1", HttpTokens="required")',
      "    pages = ec2.get_paginator('describe_security_groups')",
      "    s3.put_bucket_policy(Bucket='b', Policy='{}')",
      '    iam.update_account_password_policy(MinimumPasswordLength=14)',
      "    boto3.client('rds').describe_db_instances()",
      '    not_a_client.describe_nothing()',
    ].join('\n');
    // Act
    const ops = scriptOperations(script).map((o) => `${o.service}:${o.api}`);
    // Assess
    expect(ops.sort()).toEqual(
      ['ec2:describe_security_groups', 'ec2:modify_instance_metadata_options', 'iam:update_account_password_policy', 'rds:describe_db_instances', 's3:put_bucket_policy'].sort(),
    );
  });

  it("fills the ASR build's %%SCRIPT=…%% placeholders with the script, indented like the placeholder, and reports missing ones", () => {
    // Act
    const { text, missing } = assembleScripts('    Script: |-\n      %%SCRIPT=a.py%%\n    Other: |-\n      %%SCRIPT=gone.py%%\n', (name) => (name === 'a.py' ? 'import boto3\n\nx = 1' : undefined));
    // Assess
    expect(text).toBe('    Script: |-\n      import boto3\n\n      x = 1\n    Other: |-\n      %%SCRIPT=gone.py%%\n');
    expect(missing).toEqual(['gone.py']);
  });

  it('counts each operation once per document, most used first', () => {
    // Prepare
    const doc = (file: string, operations: string[]): SurveyedDocument => ({
      file,
      text: '',
      missingScripts: [],
      actions: [],
      children: [],
      runtimes: [],
      operations: operations.map((operation) => ({ operation, via: 'api' })),
      outOfScopeServices: [],
    });
    // Act
    const table = operationTable([doc('a', ['ec2:DescribeInstances', 'rds:ModifyDBInstance']), doc('b', ['rds:ModifyDBInstance'])]);
    // Assess
    expect(table.map((r) => [r.operation, r.documents.length])).toEqual([
      ['rds:ModifyDBInstance', 2],
      ['ec2:DescribeInstances', 1],
    ]);
  });
});

// With OPSAUTO_RUNBOOK_CORPUS set, the page must be exactly the rendering of the full corpus; without it, the rows of the
// committed documents and the figures are checked (the local corpus is not in the repository).
const full = corpusDir() !== undefined;

describe('docs/runbook-survey.md', () => {
  it(
    full
      ? 'is what the full corpus, the case table and localcloud say today (rewrite it with OPSAUTO_RUNBOOK_CORPUS=<dir> npx tsx test/runbook-corpus/write-survey.ts)'
      : "has today's rows for the committed documents, and the case table's figure (set OPSAUTO_RUNBOOK_CORPUS to check the whole page)",
    async () => {
      // Prepare
      const page = readFileSync(SURVEY_DOC, 'utf8');
      // Act / Assess
      if (full) {
        expect(page).toBe(await renderSurvey());
        return;
      }
      const committed = (await surveyCorpus()).filter((d) => !d.file.startsWith(CORPUS_PREFIX));
      expect(committed.length).toBeGreaterThanOrEqual(8);
      const pageRows = page.split('\n');
      for (const d of committed) expect(pageRows, d.file).toContain(documentRow(d));
      expect(page).toContain(`**${claimedRuns()}**`);
    },
  );

  it("is linked from the README, whose corpus figure is the page's and the case table's", () => {
    // Prepare
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const page = readFileSync(SURVEY_DOC, 'utf8');
    const figure = (text: string) => [...text.matchAll(/\*\*runs: (\d+\/\d+)\*\*/g)].map((m) => m[1]);
    // Assess
    expect(readme).toContain('(docs/runbook-survey.md)');
    expect(figure(readme)).toEqual(figure(page));
    expect(figure(page)).toEqual([claimedRuns().slice('runs: '.length)]);
  });

  it('says the local corpus is not in the repository, and how to rebuild and run it', () => {
    // Prepare
    const page = readFileSync(SURVEY_DOC, 'utf8');
    // Assess
    expect(page).toContain('**The local corpus is not in this repository**');
    expect(page).toContain('OPSAUTO_RUNBOOK_CORPUS=<dir> npx vitest run test/e2e/runbook-corpus.e2e.test.ts');
    expect(page).toMatch(/\n\| asr__EnableKeyRotation\.yaml \| aws-solutions\/automated-security-response-on-aws \| \S+ \| [0-9a-f]{40} \|\n/);
  });
});
