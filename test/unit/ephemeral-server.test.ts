// The throwaway drill server's checks that need no server: room on disk and the snapshot's
// size (refused with both numbers), a binary of the snapshot's product at least its version,
// and the clean-up of what a dead worker left (its server killed, its directory removed;
// another live worker's left alone).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  binaryVersion,
  checkBinaryFits,
  checkRoomFor,
  EphemeralDrillRefusedError,
  freeBytes,
  removeOrphanedServers,
} from '../../activities/ephemeral/ephemeral-server';
import type { EphemeralDrillConfig } from '../../worker/config';

const tmp = mkdtempSync(join(tmpdir(), 'vsnap-ephemeral-server-test-'));
const children: ChildProcess[] = [];
after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

/** The stack's bao, installed by scripts/install-tools.sh (npm test runs it first). */
const bao = join(__dirname, '..', '..', '.tools', 'venv', 'bin', 'bao');

function drillConfig(changes: Partial<EphemeralDrillConfig> = {}): EphemeralDrillConfig {
  return { binary: bao, dataDir: tmp, maxSnapshotBytes: 2 ** 50, seal: { type: 'shamir' }, ...changes };
}

/** The refusal `fn` throws. */
function refusal(fn: () => unknown): EphemeralDrillRefusedError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof EphemeralDrillRefusedError, `expected a refusal, got ${String(err)}`);
    return err;
  }
  return assert.fail('expected a refusal, nothing was thrown');
}

async function refusalOf(promise: Promise<unknown>): Promise<EphemeralDrillRefusedError> {
  const err = await promise.then(
    () => assert.fail('expected a refusal, it resolved'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof EphemeralDrillRefusedError, `expected a refusal, got ${String(err)}`);
  return err;
}

describe('checkRoomFor: refused before anything starts, naming the numbers', () => {
  it('refuses a snapshot over maxSnapshotBytes, naming its size and the limit', () => {
    const err = refusal(() => checkRoomFor(drillConfig({ maxSnapshotBytes: 10_000_000 }), 15_000_000));
    assert.match(err.message, /the snapshot is 14\.3 MiB \(15000000 bytes\)/);
    assert.match(err.message, /maxSnapshotBytes of 9\.5 MiB \(10000000 bytes\)/);
    assert.ok(err.message.includes(tmp), 'names the dataDir to grow with it');
  });

  it('takes a snapshot of exactly maxSnapshotBytes', () => {
    assert.doesNotThrow(() => checkRoomFor(drillConfig({ maxSnapshotBytes: 1000 }), 1000));
  });

  it('refuses when the dataDir has less than 3x the snapshot free, naming the free and the needed bytes', () => {
    const snapshot = Math.ceil(freeBytes(tmp) / 2);
    const err = refusal(() => checkRoomFor(drillConfig(), snapshot));
    const free = Number(/ free \((\d+) bytes\)/.exec(err.message)?.[1]);
    assert.ok(free > 0 && Math.abs(free - freeBytes(tmp)) < 1e9, `the free bytes in: ${err.message}`);
    assert.ok(err.message.includes(`(${3 * snapshot} bytes)`), `the needed bytes in: ${err.message}`);
    assert.ok(err.message.startsWith(tmp), err.message);
  });

  it('takes a snapshot a third of the free space leaves room for', () => {
    assert.doesNotThrow(() => checkRoomFor(drillConfig(), 1024 * 1024));
  });

  it('refuses a dataDir that does not exist, naming it', () => {
    const missing = join(tmp, 'no-such-dir');
    const err = refusal(() => checkRoomFor(drillConfig({ dataDir: missing }), 1024));
    assert.ok(err.message.includes(`${missing} does not exist`), err.message);
  });
});

describe("checkBinaryFits: the snapshot's product, at least its version", () => {
  const openbao = (version: string) => ({ product: 'openbao' as const, version });

  it('takes the same version and newer ones', () => {
    assert.doesNotThrow(() => checkBinaryFits('/bin/bao', openbao('2.5.3'), 'v2.5.3'));
    assert.doesNotThrow(() => checkBinaryFits('/bin/bao', openbao('2.5.4'), '2.5.3'));
    assert.doesNotThrow(() => checkBinaryFits('/bin/bao', openbao('2.10.0'), '2.9.1'));
    assert.doesNotThrow(() => checkBinaryFits('/bin/vault', { product: 'vault', version: '1.20.1' }, '1.19.0+ent'));
  });

  it('refuses an older binary, naming both versions', () => {
    const err = refusal(() => checkBinaryFits('/bin/bao', openbao('2.5.2'), 'v2.5.3'));
    assert.match(err.message, /\/bin\/bao is OpenBao 2\.5\.2; the snapshot was taken by OpenBao 2\.5\.3/);
    refusal(() => checkBinaryFits('/bin/bao', openbao('2.9.9'), '2.10.0'));
  });

  it('refuses the other product, whatever its version', () => {
    const vault = refusal(() => checkBinaryFits('/bin/vault', { product: 'vault', version: '1.20.1' }, 'v2.5.3'));
    assert.match(vault.message, /\/bin\/vault is Vault 1\.20\.1; the snapshot was taken by OpenBao 2\.5\.3/);
    const bao = refusal(() => checkBinaryFits('/bin/bao', openbao('2.5.3'), 'v1.15.0'));
    assert.match(bao.message, /is OpenBao 2\.5\.3; the snapshot was taken by Vault 1\.15\.0/);
  });

  it('takes any binary when the manifest recorded no version', () => {
    assert.doesNotThrow(() => checkBinaryFits('/bin/bao', openbao('2.0.0'), undefined));
  });
});

describe('binaryVersion: what `<binary> version` says', () => {
  it("reads the product and version of the stack's bao", async () => {
    const found = await binaryVersion(bao);
    assert.equal(found.product, 'openbao');
    assert.match(found.version, /^2\.\d+\.\d+$/);
  });

  it('refuses a program that is not bao or vault, quoting what it said', async () => {
    const script = join(tmp, 'not-bao');
    writeFileSync(script, '#!/bin/sh\necho "hello from not-bao"\n');
    chmodSync(script, 0o755);
    const err = await refusalOf(binaryVersion(script));
    assert.match(err.message, /not-bao is not a bao or vault binary \("hello from not-bao"/);
  });

  it('refuses a file that does not run, naming it and why', async () => {
    const text = join(tmp, 'readme.txt');
    writeFileSync(text, 'not a program\n');
    assert.match((await refusalOf(binaryVersion(text))).message, /readme\.txt does not run \(EACCES\)/);
    const missing = join(tmp, 'no-such-binary');
    assert.match((await refusalOf(binaryVersion(missing))).message, /no-such-binary does not run \(ENOENT\)/);
  });
});

describe("removeOrphanedServers: what a dead worker left is removed, a live worker's is not", () => {
  let dirCount = 0;

  /** A fresh dataDir. */
  function dataDir(): string {
    const dir = join(tmp, `data-${++dirCount}`);
    mkdirSync(dir);
    return dir;
  }

  /** A server directory in `data` with this owner record (none when `owner` is undefined). */
  function serverDir(data: string, name: string, owner?: Record<string, unknown>): string {
    const dir = join(data, `vsnap-drill-${name}`);
    mkdirSync(join(dir, 'raft'), { recursive: true });
    if (owner) writeFileSync(join(dir, 'owner.json'), JSON.stringify(owner));
    return dir;
  }

  /** A long-lived process whose command line holds `args` (a server's would name its directory). */
  async function longLived(...args: string[]): Promise<ChildProcess & { pid: number }> {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60_000)', ...args], { stdio: 'ignore' });
    children.push(child);
    await new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject));
    return child as ChildProcess & { pid: number };
  }

  /** A pid that was a process a moment ago and has exited. */
  async function deadPid(): Promise<number> {
    const child = spawn('true');
    await new Promise((resolve) => child.once('exit', resolve));
    return child.pid!;
  }

  /** Field 22 of /proc/<pid>/stat: the start time that tells a process from a later one with its pid. */
  function startTime(pid: number): string {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  }

  const exited = (child: ChildProcess) =>
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => child.once('exit', () => resolve()));

  it("kills a dead worker's server and removes its directory", async () => {
    const data = dataDir();
    const dir = join(data, 'vsnap-drill-0rphan');
    const server = await longLived('server', `-config=${join(dir, 'server.hcl')}`);
    serverDir(data, '0rphan', { workerPid: await deadPid(), workerStart: '12345', serverPid: server.pid });

    assert.deepEqual(await removeOrphanedServers(data), [dir]);
    await exited(server);
    assert.equal(server.signalCode, 'SIGKILL', 'the orphaned server was killed');
    assert.equal(existsSync(dir), false, 'its directory is gone');
  });

  it("leaves a live worker's directory and server alone", async () => {
    const data = dataDir();
    const otherWorker = await longLived('other-worker');
    const dir = join(data, 'vsnap-drill-11fe');
    const server = await longLived('server', `-config=${join(dir, 'server.hcl')}`);
    serverDir(data, '11fe', {
      workerPid: otherWorker.pid,
      workerStart: startTime(otherWorker.pid),
      serverPid: server.pid,
    });

    assert.deepEqual(await removeOrphanedServers(data), []);
    assert.ok(existsSync(join(dir, 'owner.json')), 'the directory is untouched');
    assert.equal(server.exitCode ?? server.signalCode, null, 'its server runs on');
  });

  it('takes a live process with another start time for a reused pid: its owner is dead', async () => {
    const data = dataDir();
    const reused = await longLived('someone-else');
    const dir = serverDir(data, 'feed', { workerPid: reused.pid, workerStart: '1' });

    assert.deepEqual(await removeOrphanedServers(data), [dir]);
    assert.equal(reused.exitCode ?? reused.signalCode, null, 'the process now holding the pid is not touched');
  });

  it('does not kill a recorded server pid whose command line no longer names the directory', async () => {
    const data = dataDir();
    const unrelated = await longLived('server', '-config=/elsewhere/server.hcl');
    const dir = serverDir(data, 'beef', { workerPid: await deadPid(), workerStart: '1', serverPid: unrelated.pid });

    assert.deepEqual(await removeOrphanedServers(data), [dir]);
    assert.equal(unrelated.exitCode ?? unrelated.signalCode, null, 'the unrelated process runs on');
  });

  it('removes a directory with no owner record (cut off while being made) and one of this process not running', async () => {
    const data = dataDir();
    const unowned = serverDir(data, 'a1');
    const mine = serverDir(data, 'b2', { workerPid: process.pid, workerStart: startTime(process.pid) });
    writeFileSync(join(data, 'notes.txt'), 'not a drill server\n');
    mkdirSync(join(data, 'other-dir'));

    assert.deepEqual((await removeOrphanedServers(data)).sort(), [unowned, mine].sort());
    assert.ok(existsSync(join(data, 'notes.txt')) && existsSync(join(data, 'other-dir')), 'other entries stay');
  });

  it('does nothing for a dataDir that does not exist', async () => {
    assert.deepEqual(await removeOrphanedServers(join(tmp, 'never-made')), []);
  });
});
