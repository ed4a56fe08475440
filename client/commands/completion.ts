// vsnap completion: a shell completion script for this vsnap's commands and flags, generated
// from the command table it is given, so a new command or flag completes without more work.
import { type Command, type CommandOptions, ExitCode, parseCommandArgs, UsageError, writeStdout } from '../cli';
import type { CommandTable } from '../completion/completion-spec';
import { completionScript, isShell, SHELLS } from '../completion/completion-script';

const HELP = `Usage: vsnap completion bash|zsh|fish

Print a completion script for vsnap's commands, subcommands and flags, generated from this
vsnap's own command table. Set it up once; loaded at each shell start, it follows upgrades:

  bash   in ~/.bashrc:                    source <(vsnap completion bash)
  zsh    in ~/.zshrc, after compinit:     source <(vsnap completion zsh)
  fish   in ~/.config/fish/config.fish:   vsnap completion fish | source

Or write it where the shell looks for completions (again after an upgrade); see the examples.

Options:
  -h, --help   this help

Examples:
  vsnap completion bash > ~/.local/share/bash-completion/completions/vsnap
  vsnap completion zsh > "\${fpath[1]}/_vsnap"
  vsnap completion fish > ~/.config/fish/completions/vsnap.fish`;

const OPTIONS = {
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies CommandOptions;

/** The table is read when the script is printed, so it can list this command too. */
export function completionCommand(table: () => CommandTable): Command {
  return {
    name: 'completion',
    synopsis: 'Print a shell completion script (bash, zsh, fish)',
    help: HELP,
    options: OPTIONS,
    subcommands: SHELLS,
    async run(argv) {
      const { positionals } = parseCommandArgs('completion', argv, OPTIONS, true);
      const [shell, ...extra] = positionals;
      const choices = SHELLS.join(', ');
      if (!shell) throw new UsageError(`vsnap completion: give a shell: ${choices}`);
      if (!isShell(shell)) throw new UsageError(`vsnap completion: unknown shell "${shell}"; choose ${choices}`);
      if (extra.length > 0) throw new UsageError(`vsnap completion: unexpected arguments ${extra.join(' ')}`);
      await writeStdout(completionScript(shell, table()));
      return ExitCode.ok;
    },
  };
}
