/**
 * SSM document content: parsing JSON or YAML as the request's DocumentFormat says, the checks CreateDocument and
 * UpdateDocument make before accepting it (InvalidDocumentContent, InvalidDocumentSchemaVersion,
 * MaxDocumentSizeExceeded), the parameters DescribeDocument lists, and JSON <-> YAML conversion for GetDocument.
 */
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { AwsError, validation } from '../errors.js';

export type ContentFormat = 'JSON' | 'YAML';
export const DOCUMENT_FORMATS = ['JSON', 'YAML', 'TEXT'] as const;

/** "The size limit of a document is 64 KB." */
export const MAX_DOCUMENT_BYTES = 64 * 1024;

/** Schema versions AWS accepts per document type; only the types the project uses are checked. */
const SCHEMA_VERSIONS: Record<string, string[]> = {
  Automation: ['0.3'],
  Command: ['1.2', '2.0', '2.2'],
};

export interface DocumentParameter {
  Name: string;
  Type?: string;
  Description?: string;
  DefaultValue?: string;
}

/** What is read from a document's content for its description. */
export interface ContentSummary {
  schemaVersion: string;
  description?: string;
  parameters: DocumentParameter[];
}

const invalidContent = (why: string) => new AwsError('InvalidDocumentContent', `The content for the document isn't valid: ${why}`);

/** The request's DocumentFormat (default JSON), of the formats emulated for Automation and Command documents. */
export function contentFormat(value: string | undefined): ContentFormat {
  const format = value ?? 'JSON';
  if (!(DOCUMENT_FORMATS as readonly string[]).includes(format)) {
    throw validation(`1 validation error detected: Value '${format}' at 'documentFormat' failed to satisfy constraint: Member must satisfy enum value set: [${DOCUMENT_FORMATS.join(', ')}]`);
  }
  if (format === 'TEXT') throw invalidContent('TEXT is a format for other document types; Automation and Command documents are JSON or YAML.');
  return format as ContentFormat;
}

function parseContent(content: string, format: ContentFormat): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = format === 'JSON' ? JSON.parse(content) : parseYaml(content);
  } catch (e) {
    throw invalidContent(`it is not valid ${format} (${(e as Error).message.split('\n')[0]}).`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalidContent(`it must be a ${format} object.`);
  return parsed as Record<string, unknown>;
}

/** Checks content for a document of `documentType` and reads its summary. */
export function checkContent(content: string | undefined, format: ContentFormat, documentType: string): ContentSummary {
  if (content === undefined || content === null || content === '') {
    throw validation("1 validation error detected: Value null at 'content' failed to satisfy constraint: Member must not be null");
  }
  if (Buffer.byteLength(content) > MAX_DOCUMENT_BYTES) throw new AwsError('MaxDocumentSizeExceeded', `The size limit of a document is 64 KB; this one has ${Buffer.byteLength(content)} bytes.`);
  const doc = parseContent(content, format);
  const raw = doc.schemaVersion;
  // YAML reads an unquoted `schemaVersion: 2.2` as a number.
  if (typeof raw !== 'string' && typeof raw !== 'number') throw invalidContent('schemaVersion is missing.');
  const schemaVersion = String(raw);
  const accepted = SCHEMA_VERSIONS[documentType];
  if (accepted && !accepted.includes(schemaVersion)) {
    throw new AwsError('InvalidDocumentSchemaVersion', `The version of the document schema isn't supported: ${documentType} documents use schemaVersion ${accepted.join(' or ')}, not ${schemaVersion}.`);
  }
  if ((documentType === 'Automation' || schemaVersion.startsWith('2.')) && (!Array.isArray(doc.mainSteps) || doc.mainSteps.length === 0)) {
    throw invalidContent('mainSteps must list at least one step.');
  }
  return {
    schemaVersion,
    ...(typeof doc.description === 'string' ? { description: doc.description } : {}),
    parameters: documentParameters(doc.parameters),
  };
}

function documentParameters(parameters: unknown): DocumentParameter[] {
  if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters)) return [];
  return Object.entries(parameters as Record<string, unknown>).map(([Name, spec]) => {
    const s = (typeof spec === 'object' && spec !== null ? spec : {}) as { type?: unknown; description?: unknown; default?: unknown };
    return {
      Name,
      ...(typeof s.type === 'string' ? { Type: s.type } : {}),
      ...(typeof s.description === 'string' ? { Description: s.description } : {}),
      ...(s.default !== undefined ? { DefaultValue: typeof s.default === 'string' ? s.default : JSON.stringify(s.default) } : {}),
    };
  });
}

/** The content in `to`; the stored text unchanged when it already is in that format. */
export function convertContent(content: string, from: ContentFormat, to: ContentFormat): string {
  if (from === to) return content;
  const doc = parseContent(content, from);
  return to === 'JSON' ? JSON.stringify(doc, null, 2) : stringifyYaml(doc);
}

/** The format of seeded content that does not say: JSON if it parses as a JSON object, else YAML. */
export function guessFormat(content: string): ContentFormat {
  try {
    const parsed: unknown = JSON.parse(content);
    return typeof parsed === 'object' && parsed !== null ? 'JSON' : 'YAML';
  } catch {
    return 'YAML';
  }
}
