// vsnap version (also vsnap --version): the version of the installed vsnap package.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type Command, type CommandOptions, ExitCode, parseCommandArgs, writeStdout } from '../cli';

const HELP = `Usage: vsnap version [--json]
       vsnap --version [--json]

Print the version of this vsnap.

Options:
  --json       {"version": "..."} on stdout
  -h, --help   this help

Examples:
  vsnap --version
  vsnap version --json`;

const OPTIONS = {
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies CommandOptions;

export const versionCommand: Command = {
  name: 'version',
  synopsis: "Print vsnap's version",
  help: HELP,
  options: OPTIONS,
  async run(argv) {
    const { values } = parseCommandArgs('version', argv, OPTIONS);
    const version = packageVersion();
    await writeStdout(values.json ? `${JSON.stringify({ version }, null, 2)}\n` : `vsnap version ${version}\n`);
    return ExitCode.ok;
  },
};

/**
 * The version in vsnap's package.json, the nearest one above this file: the sources run from
 * client/commands/, the compiled CLI from dist/client/commands/, in a checkout, an npm install
 * or the image alike.
 */
export function packageVersion(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    if (dirname(dir) === dir) throw new Error(`no package.json in ${from} or above it`);
  }
}
