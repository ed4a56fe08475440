// The backup's side effects: plan (fail fast on bad input), canary, snapshot stream into S3
// with validation, and retention. Each activity that talks to Vault logs in at its start and
// revokes its token in `finally`, so a token never crosses an activity boundary.
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { SnapshotArchiveValidator } from './archive/snapshot-archive';
import { type ActivityDeps, clusterOrFail, vaultFor } from './deps';
import { withFailureMapping } from './failures';
import { startHeartbeat } from './progress-heartbeat';
import {
  laterRetention,
  type LockedSnapshot,
  type RetentionPolicy,
  snapshotsToDelete,
  splitByObjectLock,
} from './retention';
import { MANIFEST_FORMAT, type CanaryRecord, type SnapshotManifest } from './storage/manifest';
import { copyLocation, type NamedCopyLocation } from './storage/copy-location';
import { assertKmsKeyUsable } from './storage/kms-key-check';
import { PartAssembler } from './storage/part-assembler';
import { planPartSizes } from './storage/part-sizes';
import { manifestKeyFor, snapshotKeyFor } from './storage/snapshot-keys';
import { type ObjectLockMode, type ObjectLockRetention, retentionFor } from './storage/object-lock';
import type { SnapshotObject } from './storage/snapshot-store';
import { resolveActiveNode } from './vault/active-node';
import { type Inventory, takeInventory } from './vault/inventory';
import { loginToVault, type VaultSession } from './vault/vault-login';
import type { ClusterConfig } from '../config/cluster-schema';

export interface BackupPlan {
  cluster: string;
  address: string;
  bucket: string;
  prefix: string;
  retention: RetentionPolicy;
  /** The cluster's further copies (storage.copies), each made after the snapshot. */
  copies?: NamedCopyLocation[];
  /** Size of the cluster's newest recorded snapshot: what progress bars estimate this one against. */
  previousSnapshotBytes?: number;
}

export interface SnapshotRecord {
  key: string;
  bucket: string;
  size: number;
  sha256: string;
  raftIndex: number;
  raftTerm: number;
  uploadSeconds: number;
  /** S3 requests the SDK had to retry (throttling, 5xx, resets): a flaky store shows here. */
  s3Retries: number;
  /** The snapshot's S3 Object Lock, when storage.objectLock is set (its manifest's ends a moment later). */
  objectLock?: { mode: ObjectLockMode; retainUntil: string };
}

export interface RetentionResult {
  deleted: string[];
  remaining: number;
  abortedUploads: number;
  /** retention.deleteBy: "lifecycle" when the bucket's lifecycle rules expire snapshots and vsnap deletes none. */
  deletedBy?: 'vsnap' | 'lifecycle';
  /** Expired snapshots kept because their S3 Object Lock has not ended: deleted by a later backup. */
  locked?: LockedSnapshot[];
}

/** Multipart uploads older than this under a cluster's prefix belong to dead workers. */
const STALE_UPLOAD_MS = 24 * 60 * 60 * 1000;

/**
 * Deletes expired snapshots. With Object Lock, S3 keeps every version and refuses to delete a
 * locked one, and a delete without a version id only hides the object behind a delete marker
 * while its bytes stay billed: so each candidate's lock is read first, still-locked ones are kept
 * (and reported), and the others have all their versions deleted.
 */
export async function deleteExpiredSnapshots(
  deps: Pick<ActivityDeps, 'store'>,
  bucket: string,
  expired: SnapshotObject[],
  objectLock: boolean,
  now: Date,
): Promise<{ deleted: string[]; locked: LockedSnapshot[] }> {
  if (!objectLock) {
    for (const s of expired) {
      await deps.store.deleteSnapshot(bucket, s.key);
      Context.current().heartbeat({ step: 'retention', deleted: s.key });
    }
    return { deleted: expired.map((s) => s.key), locked: [] };
  }
  const retentions = new Map<string, ObjectLockRetention | undefined>();
  for (const s of expired) {
    const snapshotLock = await deps.store.retentionOf(bucket, s.key);
    const manifestLock = s.manifest ? await deps.store.retentionOf(bucket, manifestKeyFor(s.key)) : undefined;
    retentions.set(s.key, laterRetention(snapshotLock, manifestLock));
  }
  const { deletable, locked } = splitByObjectLock(expired, (key) => retentions.get(key), now);
  for (const s of deletable) {
    await deps.store.deleteSnapshotVersions(bucket, s.key);
    Context.current().heartbeat({ step: 'retention', deleted: s.key });
  }
  return { deleted: deletable.map((s) => s.key), locked };
}

export function createBackupActivities(deps: ActivityDeps) {
  async function withVaultSession<T>(cluster: ClusterConfig, fn: (session: VaultSession) => Promise<T>): Promise<T> {
    const session = await loginToVault(cluster, vaultFor(cluster), deps);
    try {
      return await fn(session);
    } finally {
      const outcome = await session.revoke();
      if (outcome.error)
        deps.logger.warn(
          { cluster: cluster.name, error: outcome.error },
          'could not revoke Vault token; it expires with its TTL',
        );
    }
  }

  return {
    /**
     * Checks everything that can be checked before the canary is written: cluster, bucket, KMS
     * key, Vault state and the Vault credentials (a login whose token is revoked at once).
     */
    async planBackup(input: { cluster?: string }): Promise<BackupPlan> {
      return withFailureMapping(async () => {
        const cluster = clusterOrFail(deps, input.cluster);
        await deps.store.assertBucketExists(cluster.storage.bucket);
        // Before any snapshot: a lock asked for and not possible must stop the backup, not be skipped.
        if (cluster.storage.objectLock) await deps.store.assertObjectLockEnabled(cluster.storage.bucket);
        if (cluster.storage.kmsKeyId) await assertKmsKeyUsable(deps.kms, cluster.storage.kmsKeyId);
        await resolveActiveNode(vaultFor(cluster));
        await withVaultSession(cluster, () => Promise.resolve());
        // Only an estimate for progress bars: not knowing it is no reason to fail the backup.
        const previous = await deps.store
          .latestManifest(cluster.storage.bucket, cluster.storage.prefix)
          .catch(() => undefined);
        return {
          cluster: cluster.name,
          address: cluster.address,
          bucket: cluster.storage.bucket,
          prefix: cluster.storage.prefix,
          retention: cluster.retention,
          ...(cluster.storage.copies?.length
            ? { copies: cluster.storage.copies.map((c) => ({ name: c.name, ...copyLocation(cluster, c) })) }
            : {}),
          ...(previous ? { previousSnapshotBytes: previous.size } : {}),
        };
      });
    },

    /** Writes the cron-job procedure's canary (`value` = unix seconds, plus the workflow id) just before the snapshot. */
    async writeCanary(input: { cluster: string; workflowId: string }): Promise<CanaryRecord> {
      return withFailureMapping(async () => {
        const cluster = clusterOrFail(deps, input.cluster);
        const { mount, path } = cluster.canary;
        const value = Math.floor(Date.now() / 1000);
        await withVaultSession(cluster, async (session) => {
          const { vault } = await resolveActiveNode(vaultFor(cluster));
          await vault.request('write canary', {
            method: 'POST',
            path: `/${mount}/data/${path}`,
            // A string, as `vault kv put ... value=$(date +%s)` stores it in the cron-job procedure.
            json: { data: { value: String(value), workflowId: input.workflowId } },
            token: session.token,
          });
        });
        return { path: `${mount}/${path}`, value, workflowId: input.workflowId };
      });
    },

    /** Names and counts of what the cluster holds, recorded in the manifest for restore drills. */
    async recordInventory(input: { cluster: string }): Promise<Inventory> {
      return withFailureMapping(async () => {
        const cluster = clusterOrFail(deps, input.cluster);
        return withVaultSession(cluster, async (session) => {
          const { vault } = await resolveActiveNode(vaultFor(cluster));
          return takeInventory(vault, session.token);
        });
      });
    },

    /**
     * Streams the Raft snapshot from the active node into an S3 multipart upload, hashing and
     * validating on the way, then completes the upload and writes the manifest. Nothing is
     * left under the final key unless the archive validated.
     */
    async streamSnapshotToS3(input: {
      cluster: string;
      startedAtMs: number;
      workflowId: string;
      runId: string;
      canary: CanaryRecord;
      inventory?: Inventory;
    }): Promise<SnapshotRecord> {
      return withFailureMapping(
        async () => {
          const cluster = clusterOrFail(deps, input.cluster);
          const { bucket, prefix, kmsKeyId } = cluster.storage;
          const key = snapshotKeyFor(prefix, new Date(input.startedAtMs));
          const log = deps.logger.child({ cluster: cluster.name, snapshotKey: key, workflowId: input.workflowId });
          const ctx = Context.current();
          const began = Date.now();

          const heartbeat = startHeartbeat('upload');
          try {
            // An earlier attempt of this same backup (a killed worker) may have left its upload open.
            const stale = await deps.store.abortUploads(bucket, key, { exactKey: key });
            if (stale > 0) log.info({ aborted: stale }, 'aborted multipart upload left by an earlier attempt');

            return await withVaultSession(cluster, async (session) => {
              // A retry after the leader died lands here: wait for the election, never stream
              // from a node that has not itself confirmed it is active.
              const active = await resolveActiveNode(vaultFor(cluster), {
                onWaiting: () => heartbeat.phase('wait-for-leader'),
                signal: ctx.cancellationSignal,
              });
              heartbeat.phase('upload');
              log.info({ activeAddress: active.vault.address }, 'streaming the snapshot from the active node');
              const concurrency = deps.config.uploadConcurrency;
              const { objectLock } = cluster.storage;
              const lockFrom = (writtenAt: Date) =>
                objectLock ? retentionFor(objectLock, writtenAt, deps.config.testObjectLockSeconds) : undefined;
              const snapshotLock = lockFrom(new Date());
              const upload = await deps.store.startUpload({
                bucket,
                key,
                ...(snapshotLock ? { lock: snapshotLock } : {}),
                ...(kmsKeyId ? { kmsKeyId } : {}),
                metadata: { 'vsnap-cluster': cluster.name, 'vsnap-workflow-id': input.workflowId },
                concurrency,
              });
              try {
                const source = await active.vault.openSnapshotStream(
                  session.token,
                  ctx.cancellationSignal,
                  deps.config.vaultStreamIdleSeconds * 1000,
                );
                const validator = new SnapshotArchiveValidator();
                const hash = createHash('sha256');
                let size = 0;
                let stored = 0;
                const partSizes = planPartSizes(deps.config.partSizeBytes, deps.config.maxUploadParts);
                let partNumber = 0;
                // Each part goes to the hash, the validator and S3 in turn; its buffer returns to
                // the assembler once S3 is done with it. Large writes keep gunzip's cost low.
                const parts = new PartAssembler(partSizes.partBytes, concurrency + 1, async (part, release) => {
                  partNumber++;
                  // The worker's memory grows with the parts: the log shows when, before any OOM kill.
                  const partBytes = partSizes.partBytes(partNumber);
                  if (partNumber > 1 && partBytes > partSizes.partBytes(partNumber - 1)) {
                    log.info(
                      { partNumber, partBytes, bufferBytes: (concurrency + 1) * partBytes },
                      'upload parts grow',
                    );
                  }
                  hash.update(part);
                  size += part.length;
                  await validator.consume(part);
                  // Progress counts the parts S3 is done with, not those queued for it: up to
                  // concurrency + 1 parts wait, and a bar would reach 100% well before the end.
                  const partLength = part.length;
                  await upload.addPart(part, ctx.cancellationSignal, () => {
                    stored += partLength;
                    heartbeat.progress(stored);
                    release();
                  });
                });
                for await (const chunk of source as AsyncIterable<Buffer>) await parts.write(chunk);
                await parts.end();
                validator.input.end();
                const facts = await validator.facts;
                await upload.complete();
                const sha256 = hash.digest('hex');

                const manifest: SnapshotManifest = {
                  format: MANIFEST_FORMAT,
                  cluster: cluster.name,
                  key,
                  sha256,
                  size,
                  createdAt: new Date().toISOString(),
                  workflowId: input.workflowId,
                  runId: input.runId,
                  vault: {
                    address: cluster.address,
                    activeAddress: active.vault.address,
                    ...(active.version ? { version: active.version } : {}),
                    ...(active.clusterName ? { clusterName: active.clusterName } : {}),
                    ...(active.clusterId ? { clusterId: active.clusterId } : {}),
                  },
                  raft: {
                    raftIndex: facts.raftIndex,
                    raftTerm: facts.raftTerm,
                    raftVersion: facts.raftVersion,
                    configurationIndex: facts.configurationIndex,
                  },
                  archive: { metaSha256: facts.metaSha256, stateSha256: facts.stateSha256, stateSize: facts.stateSize },
                  canary: input.canary,
                  ...(input.inventory ? { inventory: input.inventory } : {}),
                };
                try {
                  await deps.store.putManifest(bucket, manifest, kmsKeyId, lockFrom(new Date()));
                } catch (err) {
                  // Without its manifest the object is not a recorded backup: remove it. A locked
                  // one cannot be (a delete would only hide it): retention removes it once unlocked.
                  if (!snapshotLock) await deps.store.deleteSnapshot(bucket, key).catch(() => undefined);
                  throw err;
                }
                const uploadSeconds = (Date.now() - began) / 1000;
                deps.metrics.snapshotSize.set(size, { cluster: cluster.name });
                deps.metrics.snapshotBytes.add(size, { cluster: cluster.name, direction: 'upload' });
                deps.metrics.lastSuccess.set(Math.floor(Date.now() / 1000), { cluster: cluster.name, kind: 'backup' });
                const s3Retries = upload.retries;
                log.info(
                  { size, sha256, raftIndex: facts.raftIndex, uploadSeconds, s3Retries },
                  'snapshot uploaded and recorded',
                );
                return {
                  key,
                  bucket,
                  size,
                  sha256,
                  raftIndex: facts.raftIndex,
                  raftTerm: facts.raftTerm,
                  uploadSeconds,
                  s3Retries,
                  ...(snapshotLock
                    ? { objectLock: { mode: snapshotLock.mode, retainUntil: snapshotLock.retainUntil.toISOString() } }
                    : {}),
                };
              } catch (err) {
                await upload.abort().catch((abortErr: unknown) => {
                  log.error({ error: String(abortErr) }, 'could not abort multipart upload; retention will clean it');
                });
                throw err;
              }
            });
          } finally {
            heartbeat.stop();
          }
        },
        { archiveRetryable: true },
      );
    },

    /** Deletes snapshots beyond the policy, never the newest valid one nor `protectKey`. */
    async applyRetention(input: {
      cluster: string;
      keep?: number;
      maxAgeDays?: number;
      protectKey: string;
    }): Promise<RetentionResult> {
      return withFailureMapping(async () => {
        const cluster = clusterOrFail(deps, input.cluster);
        const { bucket, prefix } = cluster.storage;
        const now = new Date();
        const snapshots = await deps.store.listSnapshots(bucket, prefix);
        const byLifecycle = cluster.retention.deleteBy === 'lifecycle';
        const expired = snapshotsToDelete(snapshots, cluster.retention, input, now, new Set([input.protectKey]));
        const { deleted, locked } = await deleteExpiredSnapshots(
          deps,
          bucket,
          expired,
          cluster.storage.objectLock !== undefined,
          now,
        );
        const abortedUploads = await deps.store.abortUploads(bucket, `${prefix}/`, {
          olderThan: new Date(now.getTime() - STALE_UPLOAD_MS),
        });
        const log = deps.logger.child({ cluster: cluster.name });
        if (byLifecycle) log.info("retention: by the bucket's lifecycle rules; vsnap deletes nothing");
        if (deleted.length > 0) log.info({ deleted }, 'retention deleted snapshots');
        for (const l of locked) {
          log.info(
            { key: l.key, retainUntil: l.retainUntil, mode: l.mode },
            `retention keeps ${l.key}: locked until ${l.retainUntil}`,
          );
        }
        return {
          deleted,
          remaining: snapshots.length - deleted.length,
          abortedUploads,
          deletedBy: byLifecycle ? 'lifecycle' : 'vsnap',
          locked,
        };
      });
    },
  };
}
