// The backup workflow: plan → (wait for the cluster's lock) → canary → snapshot stream into S3
// (validated) → retention. Deterministic orchestration only; every side effect is an activity.
// Vault tokens never cross activity boundaries, so none appears in this workflow's history.
import { defineQuery, proxyActivities, setHandler, upsertMemo, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { quickActivity, streamingActivity } from './activity-options';
import type { BackupPlan, RetentionResult } from '../activities/backup-activities';
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
  retention: RetentionResult;
}

export interface BackupProgress {
  step: 'plan' | 'waiting-for-lock' | 'canary' | 'inventory' | 'snapshot' | 'retention' | 'done';
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

    progress.step = 'retention';
    const retention = await quick.applyRetention({
      cluster: plan.cluster,
      ...(request.keep !== undefined ? { keep: request.keep } : {}),
      ...(request.maxAgeDays !== undefined ? { maxAgeDays: request.maxAgeDays } : {}),
      protectKey: snapshot.key,
    });

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
      retention,
    };
  });
}
