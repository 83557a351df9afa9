import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../packages/cli/src/project.js';

const run = promisify(execFile);
const dist = join(projectRoot, 'packages/cli/dist');

/** The built CLI's loadProjectConfig (the newest chunk that holds it), in a process of its own, as a command runs it. */
async function regionsOf(file: string): Promise<string[]> {
  const chunk = readdirSync(dist)
    .filter((f) => f.startsWith('project-') && f.endsWith('.js'))
    .sort((a, b) => statSync(join(dist, b)).mtimeMs - statSync(join(dist, a)).mtimeMs)[0];
  const script = `const m = await import(${JSON.stringify(join(dist, chunk))}); console.log(JSON.stringify((await m.loadProjectConfig(${JSON.stringify(file)})).regions));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: projectRoot });
  return JSON.parse(stdout) as string[];
}

describe('the built CLI reading the project config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'opsauto-config-cache-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('sees an edit of the config, and of a file the config imports, on the next command (the compiled config is cached)', async () => {
    // Prepare
    const file = join(dir, 'opsauto.config.ts');
    const regions = join(dir, 'regions.ts');
    writeFileSync(regions, "export const regions = ['eu-west-1'];\n");
    writeFileSync(file, "import { defineConfig } from '@opsauto/core';\nimport { regions } from './regions';\nexport default defineConfig({ regions });\n");
    // Act / Assess
    expect(await regionsOf(file)).toEqual(['eu-west-1']);
    expect(await regionsOf(file)).toEqual(['eu-west-1']);
    writeFileSync(regions, "export const regions = ['ap-northeast-2', 'us-east-1'];\n");
    expect(await regionsOf(file)).toEqual(['ap-northeast-2', 'us-east-1']);
    writeFileSync(file, "import { defineConfig } from '@opsauto/core';\nexport default defineConfig({ regions: ['sa-east-1'] });\n");
    expect(await regionsOf(file)).toEqual(['sa-east-1']);
  });
});
