// The one archive validator. A Vault/OpenBao Raft snapshot is a gzip'd tar of exactly
// meta.json, state.bin, SHA256SUMS and SHA256SUMS.sealed; SHA256SUMS holds the SHA-256 of the
// first two. Validation runs on the stream as it passes (no temp file, no buffer of the whole
// snapshot): gunzip checks the gzip CRC and length trailer, tar-stream walks the entries.
import { createHash } from 'node:crypto';
import { createGunzip } from 'node:zlib';
import { Writable } from 'node:stream';
import { extract } from 'tar-stream';

export const SNAPSHOT_ENTRIES = ['meta.json', 'state.bin', 'SHA256SUMS', 'SHA256SUMS.sealed'] as const;

/** What a valid archive says about itself (from meta.json), plus digests vsnap records. */
export interface ArchiveFacts {
  raftIndex: number;
  raftTerm: number;
  raftVersion: number;
  configurationIndex: number;
  stateSize: number;
  metaSha256: string;
  stateSha256: string;
}

export class ArchiveInvalidError extends Error {
  constructor(reason: string) {
    super(`snapshot archive is invalid: ${reason}`);
    this.name = 'ArchiveInvalidError';
  }
}

interface EntryDigest {
  sha256: string;
  size: number;
  content?: Buffer;
}

// meta.json and SHA256SUMS are tiny; only they are kept in memory.
const KEEP_CONTENT = new Set(['meta.json', 'SHA256SUMS']);
const MAX_SMALL_ENTRY = 1024 * 1024;

export interface SnapshotArchiveValidatorOptions {
  /**
   * Receives state.bin's bytes in order as they pass, so a caller can read the Raft state in the
   * same single pass (e.g. count its keys). Called from a stream's data handler: it must not throw.
   */
  onStateChunk?: (chunk: Buffer) => void;
}

/**
 * A writable sink: write the snapshot bytes to it (in order), end it, then await `facts`.
 * Any structural problem rejects `facts` with an ArchiveInvalidError.
 */
export class SnapshotArchiveValidator {
  readonly input: Writable;
  readonly facts: Promise<ArchiveFacts>;

  constructor(options: SnapshotArchiveValidatorOptions = {}) {
    // Large output chunks: with zlib's default 16 KiB, gunzip alone cost 4x more CPU per byte.
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    const tar = extract();
    const entries = new Map<string, EntryDigest>();
    tar.on('entry', (header, stream, next) => {
      // When the tar is destroyed mid-entry the entry stream errors too; `facts` reports it.
      stream.on('error', () => undefined);
      const name = header.name;
      if (entries.has(name)) {
        stream.resume();
        tar.destroy(new ArchiveInvalidError(`entry ${name} appears twice`));
        return;
      }
      const hash = createHash('sha256');
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (data: unknown) => {
        const chunk = data as Buffer;
        hash.update(chunk);
        size += chunk.length;
        if (KEEP_CONTENT.has(name) && size <= MAX_SMALL_ENTRY) chunks.push(chunk);
        if (name === 'state.bin') options.onStateChunk?.(chunk);
      });
      stream.on('end', () => {
        entries.set(name, {
          sha256: hash.digest('hex'),
          size,
          ...(KEEP_CONTENT.has(name) ? { content: Buffer.concat(chunks) } : {}),
        });
        next();
      });
    });
    this.input = gunzip;
    // Listeners stay attached for the validator's whole life: zlib can report a truncated
    // stream after the tar side already stopped, and that must not become an uncaught error.
    this.facts = new Promise<ArchiveFacts>((resolve, reject) => {
      const fail = (err: unknown) => {
        reject(err instanceof ArchiveInvalidError ? err : new ArchiveInvalidError(describeStreamError(err)));
        gunzip.destroy();
        tar.destroy();
      };
      gunzip.on('error', fail);
      tar.on('error', fail);
      tar.on('finish', () => {
        try {
          resolve(checkEntries(entries));
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
      gunzip.pipe(tar);
    });
    // The rejection is observed by whoever awaits `facts`; no unhandled-rejection warning before that.
    this.facts.catch(() => undefined);
  }

  /**
   * Writes `chunk` and resolves once the validator has read it (so the caller may reuse the
   * buffer); rejects with the archive problem if validation failed.
   */
  consume(chunk: Buffer): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.input.write(chunk, (err) => {
        if (!err) resolve();
        else this.facts.then(() => reject(err), reject);
      });
    });
  }

  /** Backpressure: resolves when the validator can take more input, rejects once it failed. */
  drained(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        this.input.off('drain', done);
        resolve();
      };
      this.input.on('drain', done);
      this.facts.catch(reject);
    });
  }
}

function describeStreamError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e.code === 'Z_BUF_ERROR' || /unexpected end/i.test(e.message ?? '')) {
    return 'gzip stream ends early (truncated snapshot)';
  }
  if (e.code === 'Z_DATA_ERROR') return `gzip data is corrupt (${e.message ?? 'bad data'})`;
  return `cannot read the tar inside the gzip (${e.message ?? String(err)})`;
}

function checkEntries(entries: Map<string, EntryDigest>): ArchiveFacts {
  const names = [...entries.keys()].sort();
  const expected = [...SNAPSHOT_ENTRIES].sort();
  if (names.join(',') !== expected.join(',')) {
    throw new ArchiveInvalidError(`entries are [${names.join(', ')}], expected exactly [${expected.join(', ')}]`);
  }
  const sums = parseSha256Sums(entries.get('SHA256SUMS')!.content!.toString('utf8'));
  for (const name of ['meta.json', 'state.bin']) {
    const recorded = sums.get(name);
    const actual = entries.get(name)!.sha256;
    if (!recorded) throw new ArchiveInvalidError(`SHA256SUMS has no line for ${name}`);
    if (recorded !== actual) {
      throw new ArchiveInvalidError(`${name} has SHA-256 ${actual} but SHA256SUMS records ${recorded}`);
    }
  }
  if (entries.get('SHA256SUMS.sealed')!.size === 0) throw new ArchiveInvalidError('SHA256SUMS.sealed is empty');
  const meta = parseMeta(entries.get('meta.json')!.content!);
  const stateSize = entries.get('state.bin')!.size;
  if (meta.Size !== undefined && meta.Size !== stateSize) {
    throw new ArchiveInvalidError(`state.bin is ${stateSize} bytes but meta.json says ${meta.Size}`);
  }
  return {
    raftIndex: meta.Index,
    raftTerm: meta.Term,
    raftVersion: meta.Version,
    configurationIndex: meta.ConfigurationIndex ?? 0,
    stateSize,
    metaSha256: entries.get('meta.json')!.sha256,
    stateSha256: entries.get('state.bin')!.sha256,
  };
}

/** `sha256sum` format: "<64 hex>  <name>" per line. */
function parseSha256Sums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const match = /^([0-9a-f]{64})\s+\*?(.+)$/.exec(line.trim());
    if (!match) throw new ArchiveInvalidError(`SHA256SUMS has a malformed line: ${JSON.stringify(line.slice(0, 80))}`);
    sums.set(match[2], match[1]);
  }
  return sums;
}

interface RaftMeta {
  Version: number;
  Index: number;
  Term: number;
  ConfigurationIndex?: number;
  Size?: number;
}

function parseMeta(content: Buffer): RaftMeta {
  let meta: unknown;
  try {
    meta = JSON.parse(content.toString('utf8'));
  } catch {
    throw new ArchiveInvalidError('meta.json is not JSON');
  }
  const m = meta as Partial<RaftMeta>;
  if (typeof m.Index !== 'number' || typeof m.Term !== 'number' || typeof m.Version !== 'number') {
    throw new ArchiveInvalidError('meta.json lacks numeric Index, Term and Version');
  }
  return m as RaftMeta;
}
