// What a completion script needs to know about the CLI, read off its command table: the
// commands with their synopses, each one's flags (and which take a value) and subcommands.
import type { Command, CommandOptions } from '../cli';

export interface FlagSpec {
  long: string;
  short?: string;
  takesValue: boolean;
  repeatable: boolean;
}

export interface CommandSpec {
  name: string;
  synopsis: string;
  flags: FlagSpec[];
  subcommands: readonly string[];
}

export interface CliSpec {
  /** The flags taken before any command (--help, --version). */
  flags: FlagSpec[];
  commands: CommandSpec[];
}

/** The CLI as its entry point defines it: top-level flags and the commands. */
export interface CommandTable {
  options: CommandOptions;
  commands: readonly Command[];
}

export function flagSpecs(options: CommandOptions): FlagSpec[] {
  return Object.entries(options).map(([long, option]) => ({
    long,
    ...(option.short ? { short: option.short } : {}),
    takesValue: option.type === 'string',
    repeatable: option.multiple === true,
  }));
}

export function cliSpec(table: CommandTable): CliSpec {
  return {
    flags: flagSpecs(table.options),
    commands: table.commands.map((c) => ({
      name: c.name,
      synopsis: c.synopsis,
      flags: flagSpecs(c.options),
      subcommands: c.subcommands ?? [],
    })),
  };
}

/** Every spelling of the flags: --long, and -s where there is a short form. */
export function flagWords(flags: FlagSpec[]): string[] {
  return flags.flatMap((f) => [`--${f.long}`, ...(f.short ? [`-${f.short}`] : [])]);
}
