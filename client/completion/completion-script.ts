// `vsnap completion SHELL`: the script for one shell, from the command table.
import { bashCompletion } from './bash-completion';
import { type CommandTable, cliSpec } from './completion-spec';
import { fishCompletion } from './fish-completion';
import { zshCompletion } from './zsh-completion';

const GENERATORS = { bash: bashCompletion, zsh: zshCompletion, fish: fishCompletion };

export type Shell = keyof typeof GENERATORS;

export const SHELLS = Object.keys(GENERATORS) as Shell[];

export function isShell(name: string): name is Shell {
  return Object.hasOwn(GENERATORS, name);
}

export function completionScript(shell: Shell, table: CommandTable): string {
  return GENERATORS[shell](cliSpec(table));
}
