import type { Command } from 'commander';

/**
 * The stage that runs on localcloud. Here, with nothing imported, so that commands that only talk to localcloud
 * (clock, faults, status) load no SDK to name it.
 */
export const LOCAL_STAGE = 'local';

/**
 * Refuses a command that exists only on the local stage when `--stage` names another, with a sentence saying why
 * and what to use there instead (main prints it after `opsauto: `, exit 1) rather than acting on the local stage while the user meant another.
 *
 * @example
 * requireLocalStage(program, 'clock', 'the virtual clock exists only on the local stage');
 * // --stage prod: "clock: the virtual clock exists only on the local stage; --stage prod has none"
 */
export function requireLocalStage(program: Command, command: string, why: string, instead = `--stage ${stageOf(program)} has none`): void {
  const stage = stageOf(program);
  if (stage !== LOCAL_STAGE) throw new Error(`${command}: ${why}; ${instead}`);
}

function stageOf(program: Command): string {
  return program.opts<{ stage?: string }>().stage ?? LOCAL_STAGE;
}
