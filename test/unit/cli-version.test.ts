// `vsnap --version` and `vsnap version`: the package's version, as text or JSON, exit 0, from
// the sources here as from the compiled files in an install.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { packageVersion } from '../../client/commands/version';

const root = join(__dirname, '..', '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

function vsnap(args: string[]): string {
  return execFileSync(process.execPath, [join(root, 'bin', 'vsnap.js'), ...args], { encoding: 'utf8' });
}

describe('vsnap --version', () => {
  it('prints the version of package.json', () => {
    assert.equal(vsnap(['--version']), `vsnap version ${version}\n`);
    assert.equal(vsnap(['-v']), `vsnap version ${version}\n`);
    assert.equal(vsnap(['version']), `vsnap version ${version}\n`);
  });

  it('prints {"version": ...} with --json', () => {
    assert.deepEqual(JSON.parse(vsnap(['--version', '--json'])), { version });
    assert.deepEqual(JSON.parse(vsnap(['version', '--json'])), { version });
  });

  it('reads the nearest package.json above it, as the compiled CLI does from dist/client/commands', () => {
    const pkg = mkdtempSync(join(tmpdir(), 'vsnap-version-'));
    try {
      const commands = join(pkg, 'dist', 'client', 'commands');
      mkdirSync(commands, { recursive: true });
      writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'vsnap', version: '9.8.7' }));
      assert.equal(packageVersion(commands), '9.8.7');
    } finally {
      rmSync(pkg, { recursive: true, force: true });
    }
  });
});
