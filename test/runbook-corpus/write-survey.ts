import { writeFileSync } from 'node:fs';
import { emulatedOperations } from './emulated.js';
import { SURVEY_DOC, renderSurvey } from './survey-doc.js';
import { COVERED_SERVICES, operationTable, surveyCorpus } from './survey.js';

// Rewrites docs/runbook-survey.md from the full corpus (refused unless OPSAUTO_RUNBOOK_CORPUS names the local corpus).
// With a path argument, also writes the plain operation table (operation | runbooks using it | emulated | documents)
// there: `OPSAUTO_RUNBOOK_CORPUS=/work/corpus-local npx tsx test/runbook-corpus/write-survey.ts /tmp/survey.md`.

writeFileSync(SURVEY_DOC, await renderSurvey());
if (process.argv[2]) {
  const docs = await surveyCorpus();
  const emulated = await emulatedOperations();
  const lines = [
    `# Runbook survey: AWS operations called by ${docs.length} AWS-authored runbooks`,
    '',
    'Computed by test/runbook-corpus/survey.ts from test/fixtures/runbooks and the local corpus (provenance in docs/runbook-survey.md).',
    `Covered services: ${COVERED_SERVICES.join(', ')}. via: api = executeAwsApi/wait/assert, script = boto3 in aws:executeScript, action = a built-in action.`,
    '',
    '| operation | runbooks using it | emulated | via | documents |',
    '|---|---|---|---|---|',
    ...operationTable(docs).map((r) => `| ${r.operation} | ${r.documents.length} | ${emulated.has(r.operation) ? 'yes' : 'no'} | ${r.via.join(', ')} | ${r.documents.map((d) => d.replace(/^corpus\//, '').replace(/\.(ya?ml|json)$/, '')).join(', ')} |`),
    '',
  ];
  writeFileSync(process.argv[2], lines.join('\n'));
}
