// The backup's further copies (storage.copies): each snapshot and its manifest copied to the
// copy's bucket, verified there (the copy's SHA-256 against the manifest, the copied manifest
// byte for byte against the primary's), locked if the copy asks for it, and the copy's prefix
// kept to the cluster's retention. Nothing here deletes or changes the primary.
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ArchiveInvalidError } from './archive/snapshot-archive';
import { ChecksumMismatchError } from './archive/verified-snapshot-stream';
import { deleteExpiredSnapshots, type RetentionResult } from './backup-activities';
import { type ActivityDeps, clusterOrFail } from './deps';
import { failure, withFailureMapping } from './failures';
import { startHeartbeat } from './progress-heartbeat';
import { snapshotsToDelete } from './retention';
import { copyKeyFor, copyLocation } from './storage/copy-location';
import {
  type CopyMethod,
  copyServerSide,
  copyThroughWorker,
  isAccessDenied,
  isNoSuchBucket,
  lockObject,
  type ObjectCopy,
  objectBytes,
} from './storage/copy-object';
import { retentionFor } from './storage/object-lock';
import { manifestKeyFor } from './storage/snapshot-keys';
import { verifyStoredObject } from './storage/verified-object';
import type { ClusterConfig, StorageCopyConfig } from '../config/cluster-schema';
import { FailureType } from '../workflows/names';

/** One copy of one snapshot, as the backup's result lists it. */
export interface CopyResult {
  /** The copy's name in the config (storage.copies[].name). */
  name: string;
  bucket: string;
  key: string;
  manifestKey: string;
  status: 'verified' | 'failed';
  method?: CopyMethod;
  /** The SHA-256 read back from the copy: the manifest's. */
  sha256?: string;
  /** When the copy's Object Lock ends (ISO 8601), if the copy has one. */
  lockedUntil?: string;
  /** Why the copy failed. */
  error?: string;
  /** The copy prefix's own retention, once every copy is verified. */
  retention?: RetentionResult;
}

export function createCopyActivities(deps: ActivityDeps) {
  function copyOrFail(cluster: ClusterConfig, name: string): StorageCopyConfig {
    const copy = cluster.storage.copies?.find((c) => c.name === name);
    if (copy) return copy;
    throw failure(FailureType.CopyFailed, `cluster "${cluster.name}" has no copy "${name}" in storage.copies`);
  }

  return {
    /**
     * Copies a recorded snapshot, then its manifest, to one copy's bucket and prefix (same file
     * names), and proves them there: a failure that no retry can fix is CopyFailed, naming the copy.
     */
    async copySnapshot(input: { cluster: string; copy: string; key: string }): Promise<CopyResult> {
      return withFailureMapping(async () => {
        const cluster = clusterOrFail(deps, input.cluster);
        const copy = copyOrFail(cluster, input.copy);
        const { bucket } = copyLocation(cluster, copy);
        const key = copyKeyFor(cluster, copy, input.key);
        const manifestKey = manifestKeyFor(key);
        const where = `copy "${copy.name}" (s3://${bucket}/${key})`;
        const log = deps.logger.child({ cluster: cluster.name, copy: copy.name, snapshotKey: input.key });
        const primary = { bucket: cluster.storage.bucket, key: input.key };
        const manifest = await deps.store.readManifest(primary.bucket, primary.key);
        if (!manifest) {
          throw failure(
            FailureType.SnapshotNotFound,
            `s3://${primary.bucket}/${primary.key} has no manifest: only a recorded backup is copied`,
          );
        }
        const store = deps.copyStore(copy);
        const signal = Context.current().cancellationSignal;
        const heartbeat = startHeartbeat(`copy ${copy.name}`);
        const began = Date.now();
        try {
          const transfer = (from: typeof primary, to: typeof primary, size: number, method?: CopyMethod) => {
            const request: ObjectCopy = {
              source: from,
              destination: { ...to, ...(copy.kmsKeyId ? { kmsKeyId: copy.kmsKeyId } : {}) },
              size,
              signal,
              onProgress: (bytes) => heartbeat.progress(bytes),
            };
            const upload = {
              partBytes: deps.config.partSizeBytes,
              concurrency: deps.config.uploadConcurrency,
              maxParts: deps.config.maxUploadParts,
            };
            if (method === 'through-worker') return copyThroughWorker(deps.store, store, request, upload);
            return copyServerSide(store.s3, request, deps.config.copyPartBytes).catch((err: unknown) => {
              // The copy's role may write its bucket but not read ours (another account, no bucket
              // policy on the source): the worker reads with its own credentials instead.
              if (!isAccessDenied(err)) throw err;
              log.warn({ error: String(err) }, 'server-side copy refused; copying through the worker');
              return copyThroughWorker(deps.store, store, request, upload);
            });
          };

          const method = await transfer(primary, { bucket, key }, manifest.size);
          heartbeat.phase(`verify ${copy.name}`);
          await verifyStoredObject(store, { bucket, key }, manifest, heartbeat, signal).catch((err: unknown) => {
            throw mismatch(where, manifest, err);
          });
          const retention = copy.objectLock
            ? retentionFor(copy.objectLock, new Date(), deps.config.testObjectLockSeconds)
            : undefined;
          const lockedUntil = retention ? await lockObject(store, { bucket, key }, retention) : undefined;

          // The manifest last: at the copy too, a snapshot with a manifest is a verified backup.
          const primaryManifest = { bucket: primary.bucket, key: manifestKeyFor(primary.key) };
          const primaryBytes = await objectBytes(deps.store, primaryManifest);
          await transfer(primaryManifest, { bucket, key: manifestKey }, primaryBytes.length, method);
          const copiedBytes = await objectBytes(store, { bucket, key: manifestKey });
          if (!copiedBytes.equals(primaryBytes)) {
            throw failure(
              FailureType.CopyFailed,
              `${where}: its manifest s3://${bucket}/${manifestKey} (SHA-256 ${sha256Of(copiedBytes)}) differs from ` +
                `the primary's s3://${primaryManifest.bucket}/${primaryManifest.key} (SHA-256 ${sha256Of(primaryBytes)})`,
            );
          }
          if (retention) await lockObject(store, { bucket, key: manifestKey }, retention);

          const seconds = (Date.now() - began) / 1000;
          log.info({ bucket, key, method, seconds, lockedUntil }, 'snapshot copied and verified');
          return {
            name: copy.name,
            bucket,
            key,
            manifestKey,
            status: 'verified',
            method,
            sha256: manifest.sha256,
            ...(lockedUntil ? { lockedUntil: lockedUntil.toISOString() } : {}),
          };
        } catch (err) {
          throw copyFailure(where, err);
        } finally {
          heartbeat.stop();
        }
      });
    },

    /** The cluster's retention applied to one copy's prefix, with the copy's store. */
    async applyCopyRetention(input: {
      cluster: string;
      copy: string;
      keep?: number;
      maxAgeDays?: number;
      protectKey: string;
    }): Promise<RetentionResult> {
      return withFailureMapping(async () => {
        const cluster = clusterOrFail(deps, input.cluster);
        const copy = copyOrFail(cluster, input.copy);
        const { bucket, prefix } = copyLocation(cluster, copy);
        const store = deps.copyStore(copy);
        const snapshots = await store.listSnapshots(bucket, prefix);
        const protect = new Set([copyKeyFor(cluster, copy, input.protectKey)]);
        const now = new Date();
        const expired = snapshotsToDelete(snapshots, cluster.retention, input, now, protect);
        // The primary's deletion path, with the copy's store: locked snapshots are kept alike.
        const { deleted, locked } = await deleteExpiredSnapshots({ store }, bucket, expired, !!copy.objectLock, now);
        if (deleted.length > 0) {
          deps.logger.info(
            { cluster: cluster.name, copy: copy.name, deleted },
            'retention deleted snapshots of a copy',
          );
        }
        return {
          deleted,
          remaining: snapshots.length - deleted.length,
          abortedUploads: 0,
          deletedBy: cluster.retention.deleteBy === 'lifecycle' ? 'lifecycle' : 'vsnap',
          locked,
        };
      });
    },
  };
}

function sha256Of(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** What the copy read back was not the snapshot the manifest describes. */
function mismatch(where: string, expected: { sha256: string; size: number }, err: unknown): unknown {
  if (err instanceof ChecksumMismatchError) {
    const read = err.actual ? `SHA-256 ${err.actual.sha256} (${err.actual.size} bytes)` : 'a truncated object';
    return failure(
      FailureType.CopyFailed,
      `${where} does not match the primary: the copy has ${read}, the manifest records SHA-256 ` +
        `${expected.sha256} (${expected.size} bytes)`,
    );
  }
  if (err instanceof ArchiveInvalidError) {
    return failure(FailureType.CopyFailed, `${where} is not a valid snapshot archive: ${err.message}`);
  }
  return err;
}

/**
 * Failures no retry fixes (a missing bucket, a refused write, a mismatch) are CopyFailed; the
 * rest (throttling, resets) stay retryable, with the copy named in the message.
 */
function copyFailure(where: string, err: unknown): unknown {
  if (isNoSuchBucket(err)) {
    return failure(FailureType.CopyFailed, `${where}: the bucket does not exist; create it or fix storage.copies`);
  }
  if (isAccessDenied(err)) {
    return failure(
      FailureType.CopyFailed,
      `${where}: S3 refused the copy (${(err as Error).name}: ${(err as Error).message}); compare the copy's ` +
        'credentials with deploy/aws/vsnap-copy-role-policy.json (roleArn) or deploy/aws/vsnap-worker-iam-policy.json',
    );
  }
  if (err instanceof Error && !(err instanceof ChecksumMismatchError) && !err.message.startsWith(where)) {
    err.message = `${where}: ${err.message}`;
  }
  return err;
}
