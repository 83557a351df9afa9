import { writeFileSync } from 'node:fs';
import { emulatedOperations } from './emulated.js';
import { COVERED_SERVICES, operationTable, surveyCorpus } from './survey.js';

// Prints the survey's table of operations (markdown) to stdout, or writes it to the file named by the first argument.
// `npx tsx test/runbook-corpus/write-survey.ts /work/wt/shared/survey.md`

const docs = await surveyCorpus();
const emulated = await emulatedOperations();
const rows = operationTable(docs);
const lines = [
  `# Runbook survey: AWS operations called by ${docs.length} AWS-authored runbooks`,
  '',
  `Computed by test/runbook-corpus/survey.ts from test/fixtures/runbooks/corpus (provenance in test/fixtures/SOURCES.md).`,
  `Covered services: ${COVERED_SERVICES.join(', ')}. via: api = executeAwsApi/wait/assert, script = boto3 in aws:executeScript, action = a built-in action.`,
  '',
  '| operation | runbooks using it | emulated | via | documents |',
  '|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.operation} | ${r.documents.length} | ${emulated.has(r.operation) ? 'yes' : 'no'} | ${r.via.join(', ')} | ${r.documents.map((d) => d.replace(/\.(ya?ml|json)$/, '')).join(', ')} |`),
  '',
];
const out = lines.join('\n');
if (process.argv[2]) writeFileSync(process.argv[2], out);
else process.stdout.write(out);
