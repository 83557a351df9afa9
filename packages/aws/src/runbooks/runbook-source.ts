import { readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { GetDocumentCommand, SSMClient } from '@aws-sdk/client-ssm';
import { NotFoundError, parseRunbook, ValidationError, type Runbook } from '@opsauto/core';
import type { AwsClients } from '../clients.js';
import { isAwsError } from '../errors.js';

/** A runbook as the engine runs it, with the name and version it was loaded under. */
export interface LoadedRunbook {
  name: string;
  version?: string;
  runbook: Runbook;
  /** The document text, as stored (YAML or JSON): what `--dry-run` and deployment show. */
  content: string;
}

const RUNBOOK_EXTENSIONS = ['.yaml', '.yml', '.json'];

/**
 * The runbooks shipped in the repository (`runbooks/*.yaml`): name = file name without extension. Deployment
 * creates each as an Automation document of the same name; the local stage creates them in localcloud.
 */
export function repositoryRunbooks(directory: string): LoadedRunbook[] {
  return readdirSync(directory)
    .filter((f) => RUNBOOK_EXTENSIONS.includes(extname(f)))
    .sort()
    .map((file) => {
      const name = basename(file, extname(file));
      const content = readFileSync(join(directory, file), 'utf8');
      return { name, content, runbook: parseRunbook(content, { name }) };
    });
}

/**
 * Reads a runbook from a local file (for the CLI): YAML or JSON, validated; its name is the file name.
 *
 * @throws RunbookValidationError listing every problem; ValidationError when the file cannot be read.
 */
export function runbookFromFile(path: string): LoadedRunbook {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ValidationError(`cannot read runbook ${path}: ${(e as Error).message}`, 'runbook');
  }
  const name = basename(path, extname(path));
  return { name, content, runbook: parseRunbook(content, { name }) };
}

/**
 * Automation documents of the account, read with ssm:GetDocument (name and optional version): the AWS-owned
 * `AWS-*` runbooks, ours (deployed from `runbooks/`), and any the account has. Parsed and validated before use;
 * documents are cached per container by name and version.
 */
export class SsmRunbookSource {
  private readonly cache = new Map<string, Promise<LoadedRunbook>>();

  constructor(
    private readonly clients: AwsClients,
    private readonly region?: string,
  ) {}

  load(name: string, version?: string): Promise<LoadedRunbook> {
    // `$LATEST` and `$DEFAULT` move: only numbered versions are cached.
    const key = `${name}@${version ?? '$DEFAULT'}`;
    const cacheable = version !== undefined && /^\d+$/.test(version);
    const cached = cacheable ? this.cache.get(key) : undefined;
    if (cached) return cached;
    const loading = this.fetch(name, version);
    if (cacheable) {
      this.cache.set(key, loading);
      loading.catch(() => this.cache.delete(key));
    }
    return loading;
  }

  private async fetch(name: string, version?: string): Promise<LoadedRunbook> {
    try {
      const doc = await this.clients.get(SSMClient, this.region).send(new GetDocumentCommand({ Name: name, DocumentVersion: version, DocumentFormat: 'YAML' }));
      if (doc.DocumentType !== 'Automation') throw new ValidationError(`document ${name} is a ${doc.DocumentType ?? 'document'} document, not an Automation runbook`, 'documentName');
      const content = doc.Content ?? '';
      return { name, version: doc.DocumentVersion, content, runbook: parseRunbook(content, { name }) };
    } catch (e) {
      if (isAwsError(e, 'InvalidDocument')) throw new NotFoundError(`no Automation document ${name}${version ? ` version ${version}` : ''} in this account and region`);
      if (isAwsError(e, 'InvalidDocumentVersion')) throw new NotFoundError(`document ${name} has no version ${version}`);
      throw e;
    }
  }
}
