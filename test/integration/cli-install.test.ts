// The CLI installed the way an operator installs it: `npm pack` (which builds dist/ first), then
// `npm install -g` of the tarball into a prefix of its own. vsnap then runs from outside the
// repository with a PATH that has node and that prefix only, so nothing of the checkout (tsx,
// its node_modules) can help it. Needs the npm registry (or npm's cache) but no stack.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';

const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: { vsnap: string };
};

describe('vsnap installed from its npm pack tarball', { timeout: 600_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'vsnap-install-'));
  const prefix = join(work, 'prefix');
  const elsewhere = join(work, 'elsewhere');
  // node itself, the installed bin, and the system's basic tools: no npm bin dir of the checkout.
  const PATH = [join(prefix, 'bin'), dirname(process.execPath), '/usr/bin', '/bin'].join(delimiter);

  function vsnap(args: string[]) {
    const r = spawnSync('vsnap', args, { cwd: elsewhere, env: { PATH, HOME: work }, encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  before(() => {
    mkdirSync(elsewhere);
    // Output is kept for the error: execFileSync's message carries stderr when npm fails.
    execFileSync('npm', ['pack', '--pack-destination', work], { cwd: root, stdio: 'pipe' });
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    assert.equal(tarball, `${pkg.name}-${pkg.version}.tgz`);
    execFileSync(
      'npm',
      ['install', '-g', join(work, tarball), '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund'],
      { cwd: elsewhere, stdio: 'pipe' },
    );
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  it('installs the compiled CLI, with no dev tools beside it', () => {
    const installed = join(prefix, 'lib', 'node_modules', pkg.name);
    assert.equal(realpathSync(join(prefix, 'bin', 'vsnap')), join(installed, pkg.bin.vsnap));
    assert.ok(!existsSync(join(installed, 'node_modules', 'tsx')), 'tsx is a devDependency');
    assert.ok(!existsSync(join(installed, 'node_modules', 'typescript')), 'typescript is a devDependency');
    assert.ok(!existsSync(join(installed, 'client')), 'the package ships dist/, not the TypeScript sources');
  });

  it('vsnap --version prints the package version', () => {
    assert.deepEqual(vsnap(['--version']), { code: 0, stdout: `vsnap version ${pkg.version}\n`, stderr: '' });
  });

  it('vsnap --version --json prints it as JSON', () => {
    const r = vsnap(['--version', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { version: pkg.version });
  });

  it('vsnap help lists the commands, and vsnap completion bash completes each of them', () => {
    const help = vsnap(['help']);
    assert.equal(help.code, 0, help.stderr);
    const commands = [...help.stdout.matchAll(/^ {2}(\S+) +\S/gm)].map((m) => m[1]);
    for (const expected of ['backup', 'restore', 'verify', 'snapshots', 'schedule', 'version', 'completion']) {
      assert.ok(commands.includes(expected), `vsnap help lists ${expected}:\n${help.stdout}`);
    }

    const completion = vsnap(['completion', 'bash']);
    assert.equal(completion.code, 0, completion.stderr);
    assert.match(completion.stdout, /^complete -o default -F _vsnap vsnap$/m);
    const topLevel = /compgen -W '([^']*)'/.exec(completion.stdout)?.[1].split(' ');
    assert.deepEqual(
      topLevel?.filter((w) => !w.startsWith('-')),
      commands,
    );
    for (const command of commands) assert.match(completion.stdout, new RegExp(`^ {4}${command}\\)$`, 'm'));
  });

  it('runs a command that reads no service: vsnap snapshots without a config is a usage error', () => {
    const r = vsnap(['snapshots', 'list']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /VSNAP_CONFIG is not set/);
  });
});
