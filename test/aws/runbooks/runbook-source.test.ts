import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateDocumentCommand, SSMClient, UpdateDocumentCommand, UpdateDocumentDefaultVersionCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsClients, RunbookSource } from '@opsauto/aws';
import { NotFoundError, ValidationError } from '@opsauto/core';
import type { Localcloud } from '@opsauto/localcloud';
import { clientConfig, startTestCloud } from '../../helpers/localcloud.js';

/** A valid runbook whose one step's name tells where it was loaded from. */
const runbookText = (origin: string) => `schemaVersion: '0.3'\ndescription: from ${origin}\nmainSteps:\n  - name: ${origin}\n    action: aws:sleep\n    inputs:\n      Duration: PT1S\n`;

let cloud: Localcloud;
let clients: AwsClients;
let ssm: SSMClient;
let dir: string;
let shipped: string;

beforeAll(async () => {
  cloud = await startTestCloud();
  clients = new AwsClients('us-east-1', clientConfig(cloud));
  ssm = new SSMClient(clientConfig(cloud));
  dir = mkdtempSync(join(tmpdir(), 'runbook-source-'));
  shipped = join(dir, 'runbooks');
  mkdirSync(shipped);
  writeFileSync(join(dir, 'local.yaml'), runbookText('file'));
  writeFileSync(join(shipped, 'both-places.yaml'), runbookText('shipped'));
  writeFileSync(join(shipped, 'only-shipped.json'), JSON.stringify({ schemaVersion: '0.3', mainSteps: [{ name: 'shippedJson', action: 'aws:sleep', inputs: { Duration: 'PT1S' } }] }));
  await ssm.send(new CreateDocumentCommand({ Name: 'both-places', DocumentType: 'Automation', DocumentFormat: 'YAML', Content: runbookText('ssmOne') }));
  await ssm.send(new UpdateDocumentCommand({ Name: 'both-places', DocumentVersion: '$LATEST', DocumentFormat: 'YAML', Content: runbookText('ssmTwo') }));
  await ssm.send(new UpdateDocumentDefaultVersionCommand({ Name: 'both-places', DocumentVersion: '2' }));
  await ssm.send(new CreateDocumentCommand({ Name: 'a-command', DocumentType: 'Command', Content: JSON.stringify({ schemaVersion: '2.2', mainSteps: [{ action: 'aws:runShellScript', name: 'run', inputs: { runCommand: ['true'] } }] }) }));
});
afterAll(async () => {
  ssm.destroy();
  rmSync(dir, { recursive: true, force: true });
  await cloud.stop();
});

const stepOf = (loaded: { runbook: { mainSteps: { name: string }[] } }) => loaded.runbook.mainSteps[0].name;

describe('RunbookSource', () => {
  it('loads the shipped runbook before the account document of the same name when no version is asked for', async () => {
    // Prepare
    const source = new RunbookSource(clients, { shippedDirectory: shipped });
    // Act
    const loaded = await source.load('both-places');
    // Assess
    expect(stepOf(loaded)).toBe('shipped');
    expect(loaded.name).toBe('both-places');
    expect(loaded.version).toBeUndefined();
  });

  it('loads the account document through ssm:GetDocument when a version is asked for', async () => {
    // Prepare
    const source = new RunbookSource(clients, { shippedDirectory: shipped });
    // Act
    const first = await source.load('both-places', '1');
    const second = await source.load('both-places', '2');
    // Assess
    expect([stepOf(first), first.version]).toEqual(['ssmOne', '1']);
    expect([stepOf(second), second.version]).toEqual(['ssmTwo', '2']);
  });

  it('loads a shipped JSON runbook and an account-only document by name', async () => {
    // Prepare
    const source = new RunbookSource(clients, { shippedDirectory: shipped });
    await ssm.send(new CreateDocumentCommand({ Name: 'only-in-account', DocumentType: 'Automation', DocumentFormat: 'YAML', Content: runbookText('account') }));
    // Act
    const json = await source.load('only-shipped');
    const account = await source.load('only-in-account');
    // Assess
    expect(stepOf(json)).toBe('shippedJson');
    expect([stepOf(account), account.version]).toEqual(['account', '1']);
  });

  it('loads a file named by its path when files are allowed, and names it after the file', async () => {
    // Prepare
    const source = new RunbookSource(clients, { shippedDirectory: shipped, files: true });
    const path = join(dir, 'local.yaml');
    // Act
    const isFile = source.isFile(path);
    const loaded = await source.load(path);
    // Assess
    expect(isFile).toBe(true);
    expect(loaded).toMatchObject({ name: 'local' });
    expect(stepOf(loaded)).toBe('file');
  });

  it('treats no name as a file when files are not allowed (the worker)', async () => {
    // Prepare
    const source = new RunbookSource(clients, { shippedDirectory: shipped });
    // Act
    const isFile = source.isFile(join(dir, 'local.yaml'));
    const loading = source.load(join(dir, 'local.yaml'));
    // Assess
    expect(isFile).toBe(false);
    await expect(loading).rejects.toThrow(NotFoundError);
  });

  it('refuses a version asked of a file, naming the field', async () => {
    // Prepare
    const source = new RunbookSource(clients, { files: true });
    // Act
    const loading = source.load(join(dir, 'local.yaml'), '2');
    // Assess
    await expect(loading).rejects.toThrow(ValidationError);
    await expect(loading).rejects.toMatchObject({ field: 'version' });
  });

  it('says where it looked when a name is nowhere', async () => {
    // Prepare
    const worker = new RunbookSource(clients, { shippedDirectory: shipped });
    const cli = new RunbookSource(clients, { shippedDirectory: shipped, files: true });
    // Act
    const fromWorker = worker.load('nowhere');
    const fromCli = cli.load('nowhere');
    const versioned = cli.load('nowhere', '3');
    // Assess
    await expect(fromWorker).rejects.toThrow(new NotFoundError('no Automation document nowhere in this account and region, nor in runbooks/'));
    await expect(fromCli).rejects.toThrow('no Automation document nowhere in this account and region, nor in runbooks/ (a file path must exist or end in .yaml, .yml or .json)');
    await expect(versioned).rejects.toThrow(/^no Automation document nowhere version 3 in this account and region$/);
  });

  it('refuses a document that is not an Automation runbook, naming the field', async () => {
    // Prepare
    const source = new RunbookSource(clients, { shippedDirectory: shipped });
    // Act
    const loading = source.load('a-command');
    // Assess
    await expect(loading).rejects.toMatchObject({ name: 'ValidationError', field: 'documentName', message: 'document a-command is a Command document, not an Automation runbook' });
  });

  it('never reads outside the shipped directory when a name has a path in it', async () => {
    // Prepare
    const source = new RunbookSource(clients, { shippedDirectory: join(shipped, 'nested') });
    // Act
    const loading = source.load('../only-shipped');
    // Assess
    await expect(loading).rejects.toThrow();
  });
});
