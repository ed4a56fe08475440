// A throwaway `bao`/`vault` server the worker starts beside itself, to restore a snapshot into:
// loopback only, random ports, TLS from a CA that lives as long as the server, Raft in a fresh
// 0700 directory under the configured dataDir. Stopping it kills the process and wipes the
// directory. A worker killed mid-drill leaves its server behind: every directory records who
// owns it, and the next drill (or the next worker start) removes what a dead worker left.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { EphemeralDrillConfig } from '../../config/cluster-schema';
import { VaultHttp } from '../vault/vault-http';
import { makeThrowawayTls } from './throwaway-tls';

/** Free disk needed in dataDir, as a multiple of the snapshot: the upload, Raft's copy, its log. */
export const DISK_FACTOR = 3;
const DIR_PREFIX = 'vsnap-drill-';
const OWNER_FILE = 'owner.json';

export class EphemeralDrillRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EphemeralDrillRefusedError';
  }
}

export interface EphemeralServer {
  address: string;
  vault: VaultHttp;
  /** The server's own directory (config, TLS, Raft data, log); gone after stop(). */
  dir: string;
  /** The throwaway CA's certificate, for clients of this server (the source's login check). */
  caFile: string;
  pid: number;
  /** Kills the server, waits for it to exit, and wipes its directory. Never throws. */
  stop(): Promise<void>;
}

/** Who owns a server directory: the worker process (pid and start time, so a reused pid is not mistaken for it) and the server's pid. */
interface OwnerRecord {
  workerPid: number;
  workerStart: string;
  serverPid?: number;
  createdAt: string;
}

/** The directories of this process's servers that are still running. */
const live = new Set<string>();

/** The start time of a process, from /proc (Linux); undefined when it is not running (or no /proc). */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 is the start time; the command name (field 2) may hold spaces, so count from its ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    if (existsSync('/proc/self/stat')) return undefined;
    try {
      process.kill(pid, 0);
      return 'unknown';
    } catch {
      return undefined;
    }
  }
}

const self = (): { workerPid: number; workerStart: string } => ({
  workerPid: process.pid,
  workerStart: processStart(process.pid) ?? 'unknown',
});

/** Is the server process `pid` still the one started in `dir`? (Its command line names dir's config.) */
function isServerOf(pid: number, dir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
  } catch {
    return false;
  }
}

/**
 * Removes servers and directories that dead workers left in `dataDir`: a directory whose owner
 * process is gone (or is this process but no longer running that server). Directories of live
 * servers, this process's or another worker's sharing the directory, are left alone.
 * Returns the directories removed.
 */
export async function removeOrphanedServers(dataDir: string): Promise<string[]> {
  if (!existsSync(dataDir)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(dataDir)) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = join(dataDir, name);
    if (live.has(dir)) continue;
    let owner: Partial<OwnerRecord> = {};
    try {
      owner = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as OwnerRecord;
    } catch {
      // A directory without a readable owner record was cut off while being made: nobody owns it.
    }
    const me = self();
    const ownerIsMe = owner.workerPid === me.workerPid && owner.workerStart === me.workerStart;
    const ownerAlive =
      owner.workerPid !== undefined && !ownerIsMe && processStart(owner.workerPid) === owner.workerStart;
    if (ownerAlive) continue;
    if (owner.serverPid && isServerOf(owner.serverPid, dir)) await killAndWait(owner.serverPid);
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

async function killAndWait(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  for (let i = 0; i < 100 && processStart(pid) !== undefined; i++) await new Promise((r) => setTimeout(r, 50));
}

/** Free bytes for an unprivileged writer in `dir` (its nearest existing ancestor). */
export function freeBytes(dir: string): number {
  const stats = statfsSync(dir);
  return stats.bavail * stats.bsize;
}

const MiB = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

/**
 * Refuses a snapshot the throwaway server cannot hold: larger than maxSnapshotBytes, or more
 * than a third of dataDir's free space. Runs before anything starts; names both numbers.
 */
export function checkRoomFor(config: EphemeralDrillConfig, snapshotBytes: number): void {
  if (snapshotBytes > config.maxSnapshotBytes) {
    throw new EphemeralDrillRefusedError(
      `the snapshot is ${MiB(snapshotBytes)} (${snapshotBytes} bytes), over the ephemeral drill's maxSnapshotBytes of ` +
        `${MiB(config.maxSnapshotBytes)} (${config.maxSnapshotBytes} bytes); raise maxSnapshotBytes and the size of ` +
        `${config.dataDir} (${DISK_FACTOR}x it) together`,
    );
  }
  if (!existsSync(config.dataDir)) {
    throw new EphemeralDrillRefusedError(
      `the ephemeral drill's dataDir ${config.dataDir} does not exist; create it (an emptyDir volume in Kubernetes)`,
    );
  }
  const free = freeBytes(config.dataDir);
  const needed = DISK_FACTOR * snapshotBytes;
  if (free < needed) {
    throw new EphemeralDrillRefusedError(
      `${config.dataDir} has ${MiB(free)} free (${free} bytes); a drill of this ${MiB(snapshotBytes)} snapshot needs ` +
        `${DISK_FACTOR}x its size, ${MiB(needed)} (${needed} bytes). Free space there or give it a larger volume`,
    );
  }
}

export interface BinaryVersion {
  product: 'vault' | 'openbao';
  version: string;
}

/** `<binary> version`: "OpenBao v2.5.3 (...)" or "Vault v1.20.1 (...)". */
export async function binaryVersion(binary: string): Promise<BinaryVersion> {
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(binary, ['version'], { timeout: 30_000 }));
  } catch (err) {
    throw new EphemeralDrillRefusedError(
      `the ephemeral drill's binary ${binary} does not run (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); ` +
        'point "binary" at a bao or vault executable',
    );
  }
  const match = /^(OpenBao|Vault) v(\d+\.\d+\.\d+)/m.exec(stdout);
  if (!match) {
    throw new EphemeralDrillRefusedError(
      `${binary} is not a bao or vault binary ("${stdout.trim().slice(0, 80)}" from "${binary} version")`,
    );
  }
  return { product: match[1] === 'OpenBao' ? 'openbao' : 'vault', version: match[2] };
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/**
 * The binary must be the snapshot's product (OpenBao is 2.x and later, Vault 1.x) and at
 * least the version that took it: an older server may not read a newer one's storage.
 */
export function checkBinaryFits(binary: string, found: BinaryVersion, sourceVersion: string | undefined): void {
  const source = /^v?(\d+\.\d+\.\d+)/.exec(sourceVersion ?? '')?.[1];
  if (!source) return;
  const sourceProduct = Number(source.split('.')[0]) >= 2 ? 'openbao' : 'vault';
  if (sourceProduct !== found.product || compareVersions(found.version, source) < 0) {
    throw new EphemeralDrillRefusedError(
      `${binary} is ${found.product === 'openbao' ? 'OpenBao' : 'Vault'} ${found.version}; the snapshot was taken by ` +
        `${sourceProduct === 'openbao' ? 'OpenBao' : 'Vault'} ${source}. Use a binary of the same product, at least that version`,
    );
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function serverConfig(dir: string, apiPort: number, clusterPort: number, sealStanza: string): string {
  return `storage "raft" {
  path = "${join(dir, 'raft')}"
  node_id = "drill"
  # Raft's fastest timings: a single local node needs no slack for a slow network, and the
  # default (5) made its bootstrap election take most of the init step.
  performance_multiplier = 1
}
listener "tcp" {
  address = "127.0.0.1:${apiPort}"
  cluster_address = "127.0.0.1:${clusterPort}"
  tls_cert_file = "${join(dir, 'tls', 'server.pem')}"
  tls_key_file = "${join(dir, 'tls', 'server.key')}"
  # OpenBao >= 2.5.3 turns the unauthenticated generate-root endpoints off by default; vsnap
  # regenerates root on the restored server through them, with the source's key shares.
  disable_unauthed_generate_root_endpoints = false
}
${sealStanza}
api_addr = "https://127.0.0.1:${apiPort}"
cluster_addr = "https://127.0.0.1:${clusterPort}"
disable_mlock = true
ui = false
log_level = "warn"
`;
}

/**
 * Starts a throwaway server and waits until its API answers (uninitialised). The caller must
 * call stop() in a `finally`. A server that exits at start is reported with its log's tail.
 */
export async function startEphemeralServer(
  config: EphemeralDrillConfig,
  options: { signal?: AbortSignal } = {},
): Promise<EphemeralServer> {
  await removeOrphanedServers(config.dataDir);
  const dir = join(config.dataDir, `${DIR_PREFIX}${randomBytes(6).toString('hex')}`);
  mkdirSync(join(dir, 'raft'), { recursive: true, mode: 0o700 });
  mkdirSync(join(dir, 'tls'), { mode: 0o700 });
  live.add(dir);
  const owner: OwnerRecord = { ...self(), createdAt: new Date().toISOString() };
  let child: ChildProcess | undefined;
  const stop = async () => {
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
    live.delete(dir);
  };
  try {
    await writeFile(join(dir, OWNER_FILE), JSON.stringify(owner), { mode: 0o600 });
    const tls = makeThrowawayTls();
    await writeFile(join(dir, 'tls', 'server.pem'), tls.certPem, { mode: 0o600 });
    await writeFile(join(dir, 'tls', 'server.key'), tls.keyPem, { mode: 0o600 });
    const caFile = join(dir, 'tls', 'ca.pem');
    await writeFile(caFile, tls.caPem, { mode: 0o600 });
    const sealStanza = config.seal.type === 'auto' ? readFileSync(config.seal.stanzaFile, 'utf8') : '';
    const [apiPort, clusterPort] = [await freePort(), await freePort()];
    const configFile = join(dir, 'server.hcl');
    await writeFile(configFile, serverConfig(dir, apiPort, clusterPort, sealStanza), { mode: 0o600 });
    const log = openSync(join(dir, 'server.log'), 'a', 0o600);
    try {
      child = spawn(config.binary, ['server', `-config=${configFile}`], {
        stdio: ['ignore', log, log],
        env: serverEnv(),
      });
    } finally {
      closeSync(log);
    }
    const spawned = child;
    await new Promise<void>((resolve, reject) => {
      spawned.once('spawn', resolve);
      spawned.once('error', reject);
    });
    owner.serverPid = spawned.pid;
    await writeFile(join(dir, OWNER_FILE), JSON.stringify(owner), { mode: 0o600 });
    const address = `https://127.0.0.1:${apiPort}`;
    const vault = new VaultHttp({ address, caCert: tls.caPem, timeoutMs: 120_000 });
    await waitUntilAnswering(vault, spawned, dir, options.signal);
    return { address, vault, dir, caFile, pid: spawned.pid ?? 0, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The worker's environment minus VAULT_* and BAO_*: `vault server` reads some of those over
 * its config file (VAULT_API_ADDR, VAULT_SEAL_TYPE, ...), and the throwaway server must run
 * with exactly the config above. AWS_* stay: an awskms seal authenticates with them (IRSA).
 */
function serverEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(VAULT|BAO)_/.test(name)));
}

async function waitUntilAnswering(
  vault: VaultHttp,
  child: ChildProcess,
  dir: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    signal?.throwIfAborted();
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `the throwaway drill server exited at start (${child.exitCode ?? child.signalCode}): ${logTail(dir)}`,
      );
    }
    if (
      await vault.health().then(
        () => true,
        () => false,
      )
    )
      return;
    if (Date.now() > deadline)
      throw new Error(`the throwaway drill server did not answer within 60 s: ${logTail(dir)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function logTail(dir: string): string {
  try {
    const lines = readFileSync(join(dir, 'server.log'), 'utf8').trim().split('\n');
    return lines.slice(-5).join(' | ') || 'no log output';
  } catch {
    return 'no log';
  }
}
