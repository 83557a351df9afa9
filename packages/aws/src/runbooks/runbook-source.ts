import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
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
const RUNBOOK_FILE = /\.(ya?ml|json)$/i;
/** A name that can be a file of the shipped directory: no separator, so never a path out of it. */
const SHIPPED_NAME = /^[A-Za-z0-9_.-]+$/;

/**
 * Reads a runbook from a local file: YAML or JSON, validated; its name is the file name without extension.
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
 * numbered versions are cached per container. The SSM client is imported on the first read.
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
    const { getDocument } = await import('./ssm-document.js');
    try {
      const doc = await getDocument(this.clients, this.region, name, version);
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

export interface RunbookSourceOptions {
  /**
   * The runbooks shipped with this release (the repository's `runbooks/`, copied into the worker's bundle): a name
   * found there is loaded from it unless a version is asked for (only SSM documents have versions). Absent, or a
   * directory that does not exist: no shipped runbooks.
   */
  shippedDirectory?: string;
  /** Whether a name that is a path to a runbook file loads that file (the CLI). Off by default (the worker). */
  files?: boolean;
  /** The region whose Automation documents are read. Default the clients' home region. */
  region?: string;
}

/**
 * Where runbooks come from, in layers, for the worker and the CLI alike:
 * 1. the shipped runbooks (`runbooks/<name>.yaml|.yml|.json`), unless a version is asked for;
 * 2. the account's Automation documents (ssm:GetDocument, see SsmRunbookSource);
 * 3. with `files`, a name that is a path (see isFile) is that file. A path is never a shipped or account document
 *    name, so it is read from the file alone: no GetDocument call is spent on it.
 *
 * Shipped runbooks are read when first asked for and kept for the life of the container.
 *
 * @example
 * ```ts
 * const source = new RunbookSource(clients, { shippedDirectory: 'runbooks', files: true });
 * const { runbook } = await source.load('opsauto-DeleteVolume');
 * ```
 */
export class RunbookSource {
  private readonly ssm: SsmRunbookSource;
  private readonly shipped = new Map<string, LoadedRunbook | undefined>();

  constructor(
    clients: AwsClients,
    private readonly options: RunbookSourceOptions = {},
  ) {
    this.ssm = new SsmRunbookSource(clients, options.region);
  }

  /** Whether `name` names a runbook file: one that exists, or a name ending in .yaml, .yml or .json (then a missing file is an error). Always false without `files`. */
  isFile(name: string): boolean {
    return this.options.files === true && ((existsSync(name) && statSync(name).isFile()) || RUNBOOK_FILE.test(name));
  }

  /**
   * The runbook `name` (at `version`, when given) from the first layer that has it.
   *
   * @throws NotFoundError naming the places looked in; ValidationError for a version asked of a file, or a file that
   *   cannot be read; RunbookValidationError for a document that is not a valid runbook.
   */
  async load(name: string, version?: string): Promise<LoadedRunbook> {
    if (this.isFile(name)) {
      if (version !== undefined) throw new ValidationError(`version: applies to a runbook loaded by name, not to the file ${name}`, 'version');
      return runbookFromFile(resolve(name));
    }
    if (version === undefined) {
      const own = this.shippedRunbook(name);
      if (own) return own;
    }
    try {
      return await this.ssm.load(name, version);
    } catch (e) {
      if (e instanceof NotFoundError && version === undefined && this.options.shippedDirectory !== undefined) {
        const files = this.options.files ? ' (a file path must exist or end in .yaml, .yml or .json)' : '';
        throw new NotFoundError(`${e.message}, nor in ${basename(this.options.shippedDirectory)}/${files}`);
      }
      throw e;
    }
  }

  private shippedRunbook(name: string): LoadedRunbook | undefined {
    const directory = this.options.shippedDirectory;
    if (directory === undefined || !SHIPPED_NAME.test(name)) return undefined;
    if (!this.shipped.has(name)) {
      const file = RUNBOOK_EXTENSIONS.map((ext) => join(directory, `${name}${ext}`)).find((f) => existsSync(f));
      this.shipped.set(name, file ? runbookFromFile(file) : undefined);
    }
    return this.shipped.get(name);
  }
}
