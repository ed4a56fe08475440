#!/usr/bin/env node
// The vsnap CLI: `vsnap <command> [flags]`. One file per command under commands/. Compiled, this
// file is the package's bin (dist/client/main.js); in a checkout, bin/vsnap.js runs it from source.
import '../worker/quiet-sdk-warnings';
import { approveCommand } from './commands/approve';
import { backupCommand } from './commands/backup';
import { codecServerCommand } from './commands/codec-server';
import { completionCommand } from './commands/completion';
import { recoverCommand } from './commands/recover';
import { restoreCommand } from './commands/restore';
import { scheduleCommand } from './commands/schedule';
import { snapshotsCommand } from './commands/snapshots';
import { statusCmd, watchCmd } from './commands/status';
import { verifyCommand } from './commands/verify';
import { versionCommand } from './commands/version';
import { type Command, type CommandOptions, ExitCode, UsageError } from './cli';
import type { CommandTable } from './completion/completion-spec';

/** The flags taken instead of a command: `vsnap --help`, `vsnap --version` (the version command). */
const TOP_LEVEL_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const satisfies CommandOptions;

const COMMANDS: Command[] = [
  backupCommand,
  restoreCommand,
  verifyCommand,
  recoverCommand,
  approveCommand,
  snapshotsCommand,
  scheduleCommand,
  statusCmd,
  watchCmd,
  codecServerCommand,
  versionCommand,
  completionCommand(() => COMMAND_TABLE),
];

/** The whole CLI, as `vsnap completion` describes it. */
export const COMMAND_TABLE: CommandTable = { options: TOP_LEVEL_OPTIONS, commands: COMMANDS };

function usage(): string {
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.synopsis}`);
  return `Usage: vsnap <command> [flags]

Durable, verifiable backups of Vault/OpenBao Raft storage, run as Temporal workflows.

Commands:
${lines.join('\n')}

Run "vsnap <command> --help" for a command's flags and examples.`;
}

export async function runCli(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  const name = first === '--version' || first === '-v' ? versionCommand.name : first;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? ExitCode.ok : ExitCode.usage;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    console.error(`vsnap: unknown command "${name}"\n\n${usage()}`);
    return ExitCode.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.help);
    return ExitCode.ok;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(err.message);
      return ExitCode.usage;
    }
    console.error(`vsnap ${name}: ${err instanceof Error ? err.message : String(err)}`);
    return ExitCode.runFailed;
  }
}

/**
 * Runs the CLI as the process. Should a command's promise never settle (nothing left to wait
 * for, no result), Node would exit 0 without a word; a script would take that for success.
 */
export function runAsMain(argv: string[]): void {
  let settled = false;
  process.once('beforeExit', () => {
    if (settled) return;
    console.error(
      `vsnap ${argv[0] ?? ''}: stopped before the command finished (an internal error); treat it as failed`,
    );
    process.exit(ExitCode.runFailed);
  });
  void runCli(argv).then((code) => {
    settled = true;
    process.exit(code);
  });
}

if (require.main === module) runAsMain(process.argv.slice(2));
