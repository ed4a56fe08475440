// `vsnap completion`: the scripts come from the command table (a command or flag added there
// completes in every shell), and each shell, where installed, completes what the table says.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { type Command, type CommandOptions, UsageError } from '../../client/cli';
import { completionCommand } from '../../client/commands/completion';
import type { CommandTable } from '../../client/completion/completion-spec';
import { completionScript, SHELLS } from '../../client/completion/completion-script';
import { COMMAND_TABLE } from '../../client/main';

function fakeCommand(name: string, synopsis: string, options: CommandOptions, subcommands?: string[]): Command {
  return {
    name,
    synopsis,
    help: '',
    options,
    ...(subcommands ? { subcommands } : {}),
    run: () => Promise.resolve(0),
  };
}

const FAKE_TABLE: CommandTable = {
  options: { help: { type: 'boolean', short: 'h' } },
  commands: [
    fakeCommand('frobnicate', "Frobnicate a cluster's 'widgets' \\ quickly: now", {
      speed: { type: 'string' },
      origin: { type: 'string', multiple: true },
      gentle: { type: 'boolean', short: 'g' },
    }),
    fakeCommand('garage', 'Keep things', { json: { type: 'boolean' } }, ['open', 'close']),
  ],
};

/** The completion scripts run in the real shells; a missing one fails naming how to install it. */
function requireShell(shell: string): void {
  const present = spawnSync(shell, ['-c', 'exit 0']).status === 0;
  assert.ok(present, `${shell} is not installed: run "bash scripts/install-test-packages.sh" as root`);
}

/** What bash offers for a command line whose last word is being completed. */
function bashCompletes(script: string, words: string[]): string[] {
  const driver = `${script}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_vsnap; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['--norc', '-c', driver], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

/** What fish offers for a command line (complete -C), without descriptions. */
function fishCompletes(script: string, line: string): string[] {
  const r = spawnSync('fish', ['--no-config', '-c', `function vsnap; end; ${script}\ncomplete -C '${line}'`], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t')[0]);
}

describe('completion scripts from the command table', () => {
  for (const shell of SHELLS) {
    it(`${shell}: every command and every flag of the real table`, () => {
      const script = completionScript(shell, COMMAND_TABLE);
      for (const command of COMMAND_TABLE.commands) {
        assert.ok(script.includes(command.name), `${shell} script lacks ${command.name}`);
        for (const flag of Object.keys(command.options)) {
          const spelled = shell === 'fish' ? `-l ${flag}` : `--${flag}`;
          assert.ok(script.includes(spelled), `${shell} script lacks ${command.name} --${flag}`);
        }
        for (const sub of command.subcommands ?? []) assert.ok(script.includes(sub));
      }
    });

    it(`${shell}: a command added to the table completes with no other change`, () => {
      const script = completionScript(shell, FAKE_TABLE);
      for (const word of ['frobnicate', 'speed', 'origin', 'gentle', 'garage', 'open', 'close']) {
        assert.ok(script.includes(word), `${shell} script lacks ${word}`);
      }
      assert.ok(!script.includes('backup'), 'nothing comes from anywhere but the table');
    });
  }

  it('restore does not offer the retired --approve', () => {
    const restore = COMMAND_TABLE.commands.find((c) => c.name === 'restore');
    assert.ok(restore && !('approve' in restore.options) && 'self-approve' in restore.options);
  });

  it('bash: commands first, then flags, subcommands once, file names after a flag that takes a value', () => {
    requireShell('bash');
    const script = completionScript('bash', COMMAND_TABLE);
    const names = COMMAND_TABLE.commands.map((c) => c.name);
    assert.deepEqual(bashCompletes(script, ['vsnap', '']), [...names, '--help', '-h', '--version', '-v']);
    assert.deepEqual(bashCompletes(script, ['vsnap', 'sch']), ['schedule']);
    assert.deepEqual(bashCompletes(script, ['vsnap', 'schedule', 'p']), ['pause']);
    assert.deepEqual(bashCompletes(script, ['vsnap', 'snapshots', 'd']), ['download']);
    assert.deepEqual(bashCompletes(script, ['vsnap', 'schedule', '--json', 'tr']), ['trigger']);
    assert.deepEqual(bashCompletes(script, ['vsnap', 'schedule', 'apply', '']), [], 'a FILE: bash completes paths');
    assert.deepEqual(bashCompletes(script, ['vsnap', 'backup', '--cl']), ['--cluster']);
    assert.deepEqual(bashCompletes(script, ['vsnap', 'backup', '--cluster', '']), []);
    assert.deepEqual(bashCompletes(script, ['vsnap', 'completion', '']), ['bash', 'zsh', 'fish']);
    assert.deepEqual(bashCompletes(script, ['vsnap', 'version', '--']), ['--json', '--help']);
  });

  it('zsh: parses, and quotes synopses with quotes and backslashes', () => {
    requireShell('zsh');
    const script = completionScript('zsh', FAKE_TABLE);
    const r = spawnSync('zsh', ['-n'], { input: script, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    // _describe and _arguments stubbed: what the script hands them for a command line.
    const run = spawnSync(
      'zsh',
      [
        '-f',
        '-c',
        `compdef() { :; }; _describe() { print -rl -- "\${commands[@]}"; }; _arguments() { print -rl -- "$@"; }
${script}
words=(vsnap ''); CURRENT=2; PREFIX=''; _vsnap
words=(vsnap frobnicate ''); CURRENT=3; PREFIX=''; _vsnap`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.stdout.split('\n').filter(Boolean), [
      "frobnicate:Frobnicate a cluster's 'widgets' \\ quickly: now",
      'garage:Keep things',
      '--speed=:speed:_default',
      '*--origin=:origin:_default',
      '--gentle',
      '-g',
      '*:argument:_default',
    ]);
  });

  it('fish: completes commands with their synopses, flags and subcommands', () => {
    requireShell('fish');
    const script = completionScript('fish', FAKE_TABLE);
    assert.deepEqual(fishCompletes(script, 'vsnap '), ['frobnicate', 'garage']);
    assert.deepEqual(fishCompletes(script, 'vsnap frobnicate --'), ['--gentle', '--origin', '--speed']);
    assert.deepEqual(fishCompletes(script, 'vsnap garage '), ['close', 'open']);
    const described = spawnSync(
      'fish',
      ['--no-config', '-c', `function vsnap; end; ${script}\ncomplete -C 'vsnap f'`],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(described.stdout.trim(), "frobnicate\tFrobnicate a cluster's 'widgets' \\ quickly: now");
  });
});

describe('vsnap completion', () => {
  const command = completionCommand(() => FAKE_TABLE);

  it('refuses an unknown shell, naming the choices', async () => {
    await assert.rejects(command.run(['tcsh']), (err: Error) => {
      assert.ok(err instanceof UsageError);
      assert.equal(err.message, 'vsnap completion: unknown shell "tcsh"; choose bash, zsh, fish');
      return true;
    });
    await assert.rejects(command.run([]), /give a shell: bash, zsh, fish/);
  });

  it('offers the shells as its own subcommands', () => {
    assert.deepEqual(command.subcommands, ['bash', 'zsh', 'fish']);
  });
});
