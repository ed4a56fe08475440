// Builds Vault/OpenBao Raft snapshot archives in memory, the way `vault operator raft snapshot
// save` lays them out: a gzip'd tar of meta.json, state.bin, SHA256SUMS and SHA256SUMS.sealed.
// Options break one thing at a time, so each validator test names the fault it injects.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { SnapshotArchiveValidator, type ArchiveFacts } from '../../../activities/archive/snapshot-archive';

export type SnapshotEntryName = 'meta.json' | 'state.bin' | 'SHA256SUMS' | 'SHA256SUMS.sealed';

export interface SnapshotArchiveOptions {
  /** Bytes of state.bin (pseudo-random, so gzip cannot shrink it). Default 200 KiB. */
  stateSize?: number;
  raftIndex?: number;
  raftTerm?: number;
  /** Leave these entries out of the tar. */
  omit?: SnapshotEntryName[];
  /** Append these entries after the standard four (a name already present makes a duplicate). */
  extraEntries?: { name: string; content: Buffer | string }[];
  /** Record a wrong SHA-256 for this entry in SHA256SUMS (the entry itself is untouched). */
  corruptChecksumOf?: 'meta.json' | 'state.bin';
  /** meta.json's Size; default the real size of state.bin. */
  metaSize?: number;
  /** Content of SHA256SUMS.sealed; default 64 non-zero bytes. */
  sealed?: Buffer;
  /** Replace SHA256SUMS wholesale (after checksums are computed). */
  sha256sums?: string;
  /** Replace meta.json wholesale. */
  metaJson?: string;
  /** Keep only this many bytes of the tar, then gzip it properly: a valid gzip of a cut tar. */
  truncateTarAt?: number;
}

export interface SnapshotArchive {
  /** The .snap file as Vault writes it. */
  gzip: Buffer;
  /** Length of the tar inside the gzip (before any truncateTarAt). */
  tarSize: number;
  meta: Buffer;
  state: Buffer;
  metaSha256: string;
  stateSha256: string;
  raftIndex: number;
  raftTerm: number;
}

export const DEFAULT_STATE_SIZE = 200 * 1024;

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Deterministic bytes that look random (SHA-256 in counter mode), so failures reproduce. */
export function pseudoRandomBytes(size: number, seed = 'vsnap'): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0; i * 32 < size; i++) blocks.push(createHash('sha256').update(`${seed}:${i}`).digest());
  return Buffer.concat(blocks).subarray(0, size);
}

export async function buildSnapshotArchive(options: SnapshotArchiveOptions = {}): Promise<SnapshotArchive> {
  const raftIndex = options.raftIndex ?? 35;
  const raftTerm = options.raftTerm ?? 3;
  const state = pseudoRandomBytes(options.stateSize ?? DEFAULT_STATE_SIZE);
  const meta = Buffer.from(
    options.metaJson ??
      JSON.stringify({
        Version: 1,
        ID: 'bolt-snapshot',
        Index: raftIndex,
        Term: raftTerm,
        Peers: null,
        Configuration: { Servers: [] },
        ConfigurationIndex: 1,
        Size: options.metaSize ?? state.length,
      }),
  );
  const metaSha256 = sha256(meta);
  const stateSha256 = sha256(state);
  const wrong = (name: string, digest: string) =>
    options.corruptChecksumOf === name ? sha256(`not the real ${name}`) : digest;
  const sums =
    options.sha256sums ??
    `${wrong('meta.json', metaSha256)}  meta.json\n${wrong('state.bin', stateSha256)}  state.bin\n`;

  const entries: { name: string; content: Buffer }[] = [
    { name: 'meta.json', content: meta },
    { name: 'state.bin', content: state },
    { name: 'SHA256SUMS', content: Buffer.from(sums) },
    { name: 'SHA256SUMS.sealed', content: options.sealed ?? pseudoRandomBytes(64, 'sealed') },
  ].filter((e) => !options.omit?.includes(e.name as SnapshotEntryName));
  for (const extra of options.extraEntries ?? []) {
    entries.push({ name: extra.name, content: Buffer.from(extra.content) });
  }

  const tar = pack();
  const mtime = new Date('2026-11-28T01:22:33Z');
  for (const entry of entries)
    tar.entry({ name: entry.name, size: entry.content.length, mode: 0o600, mtime }, entry.content);
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of tar as AsyncIterable<Buffer>) chunks.push(chunk);

  const tarBytes = Buffer.concat(chunks);
  const gzip = gzipSync(tarBytes.subarray(0, options.truncateTarAt ?? tarBytes.length));
  return { gzip, tarSize: tarBytes.length, meta, state, metaSha256, stateSha256, raftIndex, raftTerm };
}

export interface ValidationRun {
  facts?: ArchiveFacts;
  error?: unknown;
  /** Errors that escaped as uncaught exceptions while the validator ran: each one would crash a worker. */
  uncaught: unknown[];
}

/**
 * Streams `bytes` into a fresh validator in `chunkSize` writes, ends it, and awaits its verdict.
 * Uncaught exceptions raised meanwhile are collected instead of reaching the test runner (which
 * would fail the whole file without naming a test), so a test can assert there are none.
 */
export async function runValidator(bytes: Buffer, chunkSize = 64 * 1024): Promise<ValidationRun> {
  const uncaught: unknown[] = [];
  const collect = (err: unknown) => uncaught.push(err);
  const runnerListeners = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  process.on('uncaughtException', collect);
  try {
    const validator = new SnapshotArchiveValidator();
    for (let offset = 0; offset < bytes.length; offset += chunkSize) {
      validator.input.write(bytes.subarray(offset, offset + chunkSize));
    }
    validator.input.end();
    const outcome = await validator.facts.then(
      (facts) => ({ facts }),
      (error: unknown) => ({ error }),
    );
    // Let stream teardown (destroy, error events) run before looking for escaped errors.
    await new Promise((resolve) => setTimeout(resolve, 20));
    return { ...outcome, uncaught };
  } finally {
    process.removeListener('uncaughtException', collect);
    for (const listener of runnerListeners) process.on('uncaughtException', listener);
  }
}

/** The validator's verdict on `bytes`: its facts, or its rejection. */
export async function validateBytes(bytes: Buffer, chunkSize = 64 * 1024): Promise<ArchiveFacts> {
  const run = await runValidator(bytes, chunkSize);
  if ('error' in run) throw run.error;
  return run.facts!;
}

/** A copy of `bytes` with one bit inverted. */
export function flipBit(bytes: Buffer, byteOffset: number, bit = 0): Buffer {
  const copy = Buffer.from(bytes);
  copy[byteOffset] ^= 1 << bit;
  return copy;
}
