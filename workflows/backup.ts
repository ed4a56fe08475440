// The backup workflow: plan → (wait for the cluster's lock) → canary → snapshot stream into S3
// (validated) → copies (storage.copies, verified at their destination) → retention.
// Deterministic orchestration only; every side effect is an activity. Vault tokens never cross
// activity boundaries, so none appears in this workflow's history.
import {
  ApplicationFailure,
  defineQuery,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { quickActivity, streamingActivity } from './activity-options';
import type { BackupPlan, RetentionResult, SnapshotRecord } from '../activities/backup-activities';
import type { CopyResult } from '../activities/copy-activities';
import { keyAtPrefix, manifestKeyFor } from '../activities/storage/snapshot-keys';
import { FailureType } from './names';
import { type BackupInput, parseBackupInput } from './backup-input';
import { type ClusterLockRequest, type LockHolder, withClusterLock } from './cluster-lock';
import { labelRun } from './run-labels';

export interface BackupResult {
  cluster: string;
  bucket: string;
  key: string;
  size: number;
  sha256: string;
  raftIndex: number;
  raftTerm: number;
  canaryValue: number;
  durationSeconds: number;
  /** S3 requests retried by the SDK during the upload (0 on a healthy store). */
  s3Retries: number;
  /** The snapshot's S3 Object Lock (storage.objectLock): nobody can delete it before `retainUntil`. */
  objectLock?: SnapshotRecord['objectLock'];
  retention: RetentionResult;
  /** Each copy of storage.copies, verified at its destination (or why not). */
  copies?: CopyResult[];
}

export interface BackupProgress {
  step: 'plan' | 'waiting-for-lock' | 'canary' | 'inventory' | 'snapshot' | `copy ${string}` | 'retention' | 'done';
  cluster?: string;
  /** While waiting for the lock: the backup, restore or drill writing to the cluster now. */
  waitingFor?: LockHolder;
  /**
   * Size of the cluster's previous snapshot: this one's is known only at the end, so progress
   * bars (the live bytes are in the streaming activity's heartbeat) count towards this estimate.
   */
  expectedBytes?: number;
}

export const backupProgressQuery = defineQuery<BackupProgress>('progress');

const quick = proxyActivities<Activities>(quickActivity);
const stream = proxyActivities<Activities>(streamingActivity);

export async function backup(input: BackupInput = {}): Promise<BackupResult> {
  labelRun('backup');
  const request = parseBackupInput(input);
  labelRun('backup', request.cluster);
  const progress: BackupProgress = { step: 'plan' };
  setHandler(backupProgressQuery, () => progress);
  const info = workflowInfo();
  const startedAtMs = info.startTime.getTime();

  const plan: BackupPlan = await quick.planBackup({ ...(request.cluster ? { cluster: request.cluster } : {}) });
  progress.cluster = plan.cluster;
  if (plan.previousSnapshotBytes) progress.expectedBytes = plan.previousSnapshotBytes;
  labelRun('backup', plan.cluster);

  // From the canary to retention, nothing else writes to the cluster: a second backup would
  // overwrite this one's canary before its snapshot (README "One operation per cluster").
  // Backups wait their turn; a schedule's next run is not worth failing over a busy cluster.
  const lockRequest: ClusterLockRequest = {
    cluster: plan.cluster,
    kind: 'backup',
    onBusy: 'wait',
    onWaiting: (holder: LockHolder) => {
      progress.step = 'waiting-for-lock';
      progress.waitingFor = holder;
    },
  };
  return withClusterLock(lockRequest, async () => {
    delete progress.waitingFor;
    // The key names the time the snapshot began, taken once the lock is held: keys sort in the
    // order the snapshots were taken, and two backups of a cluster never share a key.
    const snapshotStartedAtMs = Date.now();

    progress.step = 'canary';
    const canary = await quick.writeCanary({ cluster: plan.cluster, workflowId: info.workflowId });

    progress.step = 'inventory';
    const inventory = await quick.recordInventory({ cluster: plan.cluster });

    progress.step = 'snapshot';
    const snapshot = await stream.streamSnapshotToS3({
      cluster: plan.cluster,
      startedAtMs: snapshotStartedAtMs,
      workflowId: info.workflowId,
      runId: info.runId,
      canary,
      inventory,
    });

    // Shown by the UI next to the run: which snapshot it made.
    upsertMemo({ vsnapCluster: plan.cluster, vsnapSnapshotKey: snapshot.key });

    // The copies, each in turn, before retention: while a copy is missing, nothing is deleted
    // anywhere. Patched: runs started before copies existed replay without the step.
    const copies = plan.copies?.length && patched('storage-copies') ? await makeCopies(plan, snapshot, progress) : [];
    const failedCopies = copies.filter((c) => c.status === 'failed');
    if (failedCopies.length > 0) {
      throw ApplicationFailure.create({
        type: FailureType.CopyFailed,
        message:
          failedCopies.map((c) => `copy "${c.name}" failed: ${c.error}`).join('; ') +
          `. The primary s3://${snapshot.bucket}/${snapshot.key} and its manifest are kept; retention did not run`,
        nonRetryable: true,
        details: [{ bucket: snapshot.bucket, key: snapshot.key, sha256: snapshot.sha256, copies }],
      });
    }

    progress.step = 'retention';
    const retention = await quick.applyRetention({
      cluster: plan.cluster,
      ...(request.keep !== undefined ? { keep: request.keep } : {}),
      ...(request.maxAgeDays !== undefined ? { maxAgeDays: request.maxAgeDays } : {}),
      protectKey: snapshot.key,
    });
    for (const copy of copies) {
      copy.retention = await quick.applyCopyRetention({
        cluster: plan.cluster,
        copy: copy.name,
        ...(request.keep !== undefined ? { keep: request.keep } : {}),
        ...(request.maxAgeDays !== undefined ? { maxAgeDays: request.maxAgeDays } : {}),
        protectKey: snapshot.key,
      });
    }

    progress.step = 'done';
    return {
      cluster: plan.cluster,
      bucket: snapshot.bucket,
      key: snapshot.key,
      size: snapshot.size,
      sha256: snapshot.sha256,
      raftIndex: snapshot.raftIndex,
      raftTerm: snapshot.raftTerm,
      canaryValue: canary.value,
      // Workflow time (Date.now inside a workflow is Temporal's deterministic clock).
      durationSeconds: (Date.now() - startedAtMs) / 1000,
      s3Retries: snapshot.s3Retries,
      // Only the result grows, no new command: histories of earlier runs replay unchanged.
      ...(snapshot.objectLock ? { objectLock: snapshot.objectLock } : {}),
      retention,
      ...(copies.length > 0 ? { copies } : {}),
    };
  });
}

/**
 * Every copy is attempted, whatever happened to the others; each result says how it went. A
 * failed copy is reported, not thrown here, so the others are still made.
 */
async function makeCopies(plan: BackupPlan, snapshot: SnapshotRecord, progress: BackupProgress): Promise<CopyResult[]> {
  const results: CopyResult[] = [];
  for (const copy of plan.copies ?? []) {
    progress.step = `copy ${copy.name}`;
    try {
      results.push(await stream.copySnapshot({ cluster: plan.cluster, copy: copy.name, key: snapshot.key }));
    } catch (err) {
      const key = keyAtPrefix(copy.prefix, snapshot.key);
      results.push({
        name: copy.name,
        bucket: copy.bucket,
        key,
        manifestKey: manifestKeyFor(key),
        status: 'failed',
        error: innermostMessage(err),
      });
    }
  }
  return results;
}

/** The activity's own message, not the ActivityFailure wrapper's "Activity task failed". */
function innermostMessage(err: unknown): string {
  let cause: unknown = err;
  while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause;
  return cause instanceof Error ? cause.message : String(cause);
}
