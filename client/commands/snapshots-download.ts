// vsnap snapshots download: one stored snapshot to a local file, for `vault operator raft snapshot
// restore` when vsnap's workflows cannot run (Temporal or the worker down). It talks to S3 only.
// The bytes are checked on the way (SHA-256 and size against the manifest, the archive by the one
// validator) and land in FILE.partial, which becomes FILE only once every check passed: a FILE
// this command wrote is always a verified copy.
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { ChunkBatcher } from '../../activities/archive/chunk-batcher';
import {
  type ArchiveFacts,
  ArchiveInvalidError,
  SnapshotArchiveValidator,
} from '../../activities/archive/snapshot-archive';
import type { SnapshotManifest } from '../../activities/storage/manifest';
import { ExitCode, printJson, UsageError } from '../cli';
import { clusterContext, errorText, manifestMismatch, storedLocation, withStore } from '../stored-snapshots';

export interface DownloadFlags {
  cluster?: string | undefined;
  force: boolean;
  json: boolean;
}

/** What was read from S3 into FILE.partial. */
interface CheckedCopy {
  size: number;
  sha256: string;
  /** What the archive says about itself, or why it is not a valid snapshot. */
  archive: ArchiveFacts | ArchiveInvalidError;
}

/** Where a download reads and writes, for its messages. */
interface Download {
  flags: DownloadFlags;
  source: string;
  file: string;
}

export async function downloadSnapshot(target: string, file: string, flags: DownloadFlags): Promise<number> {
  const path = resolve(file);
  const partial = `${path}.partial`;
  refuseToReplace(path, partial, flags.force);
  const { config, cluster } = clusterContext('download', flags.cluster);
  const { bucket, key } = storedLocation(target, cluster);
  const download: Download = { flags, source: `s3://${bucket}/${key}`, file: path };
  return withStore('download', config, async (store) => {
    let manifest: SnapshotManifest | undefined;
    try {
      manifest = await store.readManifest(bucket, key);
    } catch (err) {
      return failed(download, `cannot read its manifest: ${errorText(err)}`);
    }
    if (!manifest) {
      return failed(
        download,
        'has no manifest, so it is not a valid backup (missing, or its backup never finished) and there is ' +
          'nothing to check it against; pick another with "vsnap snapshots list"',
      );
    }
    let copy: CheckedCopy;
    try {
      copy = await writeCheckedCopy((await store.openSnapshot(bucket, key)).body, partial, flags.force);
    } catch (err) {
      if (err instanceof S3ServiceException && err.name === 'NoSuchKey') {
        return failed(download, 'no such object in S3, though its manifest exists');
      }
      return failed(download, errorText(err));
    }
    const checked = verdict(copy, manifest);
    if ('problem' in checked) {
      await rm(partial, { force: true });
      return failed(download, `${checked.problem}. The partial download was deleted; ${path} was not written`, {
        expected: { size: manifest.size, sha256: manifest.sha256 },
        actual: { size: copy.size, sha256: copy.sha256 },
      });
    }
    // Checked again: a FILE that appeared while the snapshot was read is not replaced either.
    if (!flags.force && existsSync(path)) {
      await rm(partial, { force: true });
      throw new UsageError(
        `vsnap snapshots download: ${path} appeared during the download; give --force to replace it`,
      );
    }
    await rename(partial, path);
    printVerified(download, copy, checked.facts, manifest);
    return ExitCode.ok;
  });
}

function refuseToReplace(path: string, partial: string, force: boolean): void {
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new UsageError(`vsnap snapshots download: ${path} is a directory; give the path of the file to write`);
  }
  if (force) return;
  if (existsSync(path)) {
    throw new UsageError(`vsnap snapshots download: ${path} exists; give --force to replace it, or another FILE`);
  }
  if (existsSync(partial)) {
    throw new UsageError(
      `vsnap snapshots download: ${partial} exists (an interrupted download?); remove it, or give --force`,
    );
  }
}

/**
 * Streams `body` into a new file at `path` (replacing one only with `replace`), hashing it and
 * feeding the archive validator on the way. Once the archive is known to be invalid the rest is
 * still read and hashed, so a refusal can name the whole object's SHA-256 beside the manifest's.
 * On a failure to read or write, the file is removed.
 */
async function writeCheckedCopy(body: Readable, path: string, replace: boolean): Promise<CheckedCopy> {
  const hash = createHash('sha256');
  const validator = new SnapshotArchiveValidator();
  const batches = new ChunkBatcher();
  let size = 0;
  let invalid = false;
  validator.facts.catch(() => (invalid = true));
  const check = async (batch: Buffer): Promise<Buffer> => {
    hash.update(batch);
    size += batch.length;
    // A wait that fails because the validator failed is fine: `facts` carries its verdict.
    if (!invalid && !validator.input.write(batch)) await validator.drained().catch(() => undefined);
    return batch;
  };
  async function* checked(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      const batch = batches.push(chunk);
      if (batch) yield await check(batch);
    }
    const rest = batches.flush();
    if (rest) yield await check(rest);
  }

  try {
    await pipeline(body, checked, createWriteStream(path, { flags: replace ? 'w' : 'wx', mode: 0o600 }));
    await syncToDisk(path);
  } catch (err) {
    // A FILE.partial that was there before (EEXIST) is not this download's to remove.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') await rm(path, { force: true });
    throw err;
  }
  validator.input.end();
  const archive = await validator.facts.catch((err: unknown) => {
    if (err instanceof ArchiveInvalidError) return err;
    throw err;
  });
  return { size, sha256: hash.digest('hex'), archive };
}

/** Before the rename: a crash must not leave a FILE holding only part of the snapshot. */
async function syncToDisk(path: string): Promise<void> {
  const file = await open(path, 'r+');
  try {
    await file.sync();
  } finally {
    await file.close();
  }
}

/** The archive's facts when the copy matches its manifest and is a valid archive; else why it must not be used. */
function verdict(copy: CheckedCopy, manifest: SnapshotManifest): { facts: ArchiveFacts } | { problem: string } {
  const mismatch = manifestMismatch(copy, manifest);
  if (copy.archive instanceof ArchiveInvalidError) {
    const invalid = copy.archive.message;
    return { problem: mismatch ? `${mismatch}; also, the ${invalid}` : `it matches its manifest, but the ${invalid}` };
  }
  return mismatch ? { problem: mismatch } : { facts: copy.archive };
}

function failed(
  download: Download,
  problem: string,
  comparison?: { expected: { size: number; sha256: string }; actual: { size: number; sha256: string } },
): number {
  if (download.flags.json) {
    printJson({ source: download.source, file: download.file, verified: false, error: problem, ...comparison });
  }
  console.error(`vsnap snapshots download: ${download.source}: ${problem}`);
  return ExitCode.runFailed;
}

function printVerified(download: Download, copy: CheckedCopy, facts: ArchiveFacts, manifest: SnapshotManifest): void {
  if (download.flags.json) {
    printJson({
      source: download.source,
      file: download.file,
      verified: true,
      size: copy.size,
      sha256: copy.sha256,
      raft: {
        index: facts.raftIndex,
        term: facts.raftTerm,
        version: facts.raftVersion,
        configurationIndex: facts.configurationIndex,
      },
      manifest: { cluster: manifest.cluster, workflowId: manifest.workflowId, createdAt: manifest.createdAt },
    });
    return;
  }
  const rows: [string, string][] = [
    ['Downloaded', download.source],
    ['File', download.file],
    ['Size', `${copy.size} bytes (as the manifest records)`],
    ['SHA-256', `${copy.sha256} (as the manifest records)`],
    ['Archive', 'valid (gzip, tar entries, SHA256SUMS, state.bin size)'],
    ['Raft index', `${facts.raftIndex} (term ${facts.raftTerm})`],
    ['Backup', `${manifest.workflowId} (${manifest.createdAt})`],
  ];
  for (const [k, v] of rows) console.log(`${k.padEnd(13)} ${v}`);
}
