import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { LAZY_COMMANDS, registerCommands, requestedCommand } from '../../packages/cli/src/lazy-commands.js';

const program = () => new Command('opsauto').option('--stage <name>', '', 'local').option('--endpoint <url>').option('--json');

describe('lazy command registration', () => {
  it.each([
    [['clock', 'advance', '1d'], 'clock'],
    [['--stage', 'prod', 'runbook', 'list'], 'runbook'],
    [['--endpoint', 'http://127.0.0.1:1', '--json', 'volumes', 'stale'], 'volumes'],
    [['--stage=prod', 'ami', 'history', 'x'], 'ami'],
    [['help', 'faults'], 'faults'],
    [['help'], 'help'],
    [['--help'], undefined],
    [['--json', '--', 'invoke'], 'invoke'],
  ])('names the command commander will run when argv is %j', (args, expected) => {
    // Act
    const wanted = requestedCommand(program(), args);
    // Assess
    expect(wanted).toBe(expected);
  });

  it('loads only the asked-for module and lists the others by name when a command is run', async () => {
    // Prepare
    const p = program();
    // Act
    await registerCommands(p, ['clock', 'show']);
    // Assess
    expect(p.commands.map((c) => c.name()).sort()).toEqual(LAZY_COMMANDS.map((c) => c.name).sort());
    expect(p.commands.find((c) => c.name() === 'clock')!.commands.map((c) => c.name())).toEqual(['show', 'advance', 'set']);
    expect(p.commands.find((c) => c.name() === 'runbook')!.commands).toEqual([]);
    expect(Object.fromEntries(p.commands.map((c) => [c.name(), c.description()]))).toEqual(Object.fromEntries(LAZY_COMMANDS.map((c) => [c.name, c.description])));
  });
});
