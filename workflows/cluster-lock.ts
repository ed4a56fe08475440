// One operation that writes to a cluster at a time. A backup writes its cluster's canary; a
// restore and a drill write their target. Two at once corrupt what they prove: two backups race
// on the canary (one manifest records a canary its snapshot does not hold), a manual restore and
// a scheduled drill overwrite each other's target.
//
// The lock is a child workflow, `clusterLock`, with an id made of the task queue and the
// cluster ("vsnap-lock-prod"): the server lets only one workflow run under an id at a time, so
// starting it is an atomic test-and-set, and its parent close policy TERMINATE makes the server
// end it whenever its holder closes, however it closes (completed, failed, cancelled,
// terminated, timed out, reset). Each lock run carries VsnapKind "lock", VsnapCluster and a memo
// naming its holder, so `VsnapKind = "lock" AND ExecutionStatus = "Running"` in the UI lists
// which operation holds which cluster. While busy, the waiter's history grows by a few events
// per holder it waits behind, not per minute waited: an activity watches the lock for it.
//
// To free a cluster, cancel or terminate the run that holds it, not the lock: a lock ended by
// hand lets the next operation in while its holder may still be writing. The lock is not
// re-entrant: a run must take a cluster's lock once. Its id, memo keys and `release` signal are
// a contract between releases (runs pinned to the previous worker version share the lock with
// the new version's runs): change them only with both versions in mind.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  defineSignal,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  startChild,
  WorkflowIdReusePolicy,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities';
import type { RunningClusterLock } from '../activities/cluster-lock-activities';
import { lockWatchActivity, quickActivity } from './activity-options';
import { FailureType } from './names';
import { runSearchAttributes } from './search-attributes';

export interface LockHolder {
  workflowId: string;
  kind: string;
}

export interface ClusterLockInput {
  cluster: string;
  holder: LockHolder;
}

export interface ClusterLockRequest {
  cluster: string;
  kind: 'backup' | 'restore' | 'verify' | 'recover';
  /**
   * What to do while another operation holds the cluster: `wait` for it (backups and drills,
   * usually scheduled: they run once the cluster is free), or `fail` at once with ClusterBusy
   * naming it (a restore: an operator at the keyboard decides; two on-call engineers restoring
   * prod at once must not restore it twice).
   */
  onBusy: 'wait' | 'fail';
  /** Called each time the run starts waiting behind a holder, e.g. to show it in a progress query. */
  onWaiting?: (holder: LockHolder) => void;
}

/** The memo keys of a lock run: the UI shows them, and a waiting run reads its holder from them. */
export const LOCK_MEMO = { holder: 'vsnapLockHolder', holderKind: 'vsnapLockHolderKind' } as const;

export const releaseLockSignal = defineSignal('release');

/** The lock's workflow id. The task queue is part of it: each deployment (and each test worker) locks on its own. */
export function clusterLockId(taskQueue: string, cluster: string): string {
  return `${taskQueue}-lock-${cluster}`;
}

/** What a run refused with ClusterBusy reads: who holds the cluster and what to do. */
export function clusterBusyMessage(cluster: string, holder: LockHolder, lockId: string): string {
  return (
    `cluster ${cluster} is busy: ${holder.kind} ${holder.workflowId} is writing to it (lock ${lockId}); ` +
    `only one backup, restore or drill runs on a cluster at a time. Nothing was changed: ` +
    `wait for it to finish, or cancel it, and start again`
  );
}

/** The holder of a running lock: its parent (the server's record), its kind from the memo. */
export function holderOf(lock: RunningClusterLock): LockHolder {
  const text = (key: string) => (typeof lock.memo[key] === 'string' ? lock.memo[key] : undefined);
  return {
    workflowId: lock.parentWorkflowId ?? text(LOCK_MEMO.holder) ?? 'unknown',
    kind: text(LOCK_MEMO.holderKind) ?? 'operation',
  };
}

/** The lock workflow: held until its holder signals `release`, or until the server ends it with its holder. */
export async function clusterLock(input: ClusterLockInput): Promise<LockHolder> {
  let released = false;
  setHandler(releaseLockSignal, () => {
    released = true;
  });
  await condition(() => released);
  return input.holder;
}

const quick = proxyActivities<Activities>(quickActivity);
const local = proxyLocalActivities<Activities>({ startToCloseTimeout: '10s' });
const watch = proxyActivities<Activities>(lockWatchActivity);

/** Runs `body` while holding the lock on `request.cluster`; released however `body` ends. */
export async function withClusterLock<T>(request: ClusterLockRequest, body: () => Promise<T>): Promise<T> {
  const lock = await acquire(request);
  try {
    return await body();
  } finally {
    // Also when the run is being cancelled: the next operation must not wait for the server
    // to terminate the lock after this run has closed.
    await CancellationScope.nonCancellable(() => release(lock));
  }
}

interface HeldLock {
  workflowId: string;
  runId: string;
  ended: Promise<void>;
}

async function acquire(request: ClusterLockRequest): Promise<HeldLock> {
  const info = workflowInfo();
  const lockId = clusterLockId(await local.clusterLockScope(), request.cluster);
  const holder: LockHolder = { workflowId: info.workflowId, kind: request.kind };
  for (;;) {
    try {
      // Not cancellable: a cancellation of this run must not cancel the lock it holds; the
      // lock is released (or terminated with this run) once the run has cleaned up.
      const child = await CancellationScope.nonCancellable(() =>
        startChild(clusterLock, {
          workflowId: lockId,
          args: [{ cluster: request.cluster, holder }],
          parentClosePolicy: ParentClosePolicy.TERMINATE,
          // A released lock's id is free again at once.
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
          typedSearchAttributes: runSearchAttributes('lock', request.cluster),
          memo: {
            vsnapCluster: request.cluster,
            [LOCK_MEMO.holder]: holder.workflowId,
            [LOCK_MEMO.holderKind]: holder.kind,
          },
          staticSummary: `${holder.kind} ${holder.workflowId} holds ${request.cluster}`,
        }),
      );
      // Observed at once: a lock an operator terminates must not surface as an unhandled rejection.
      const ended = child.result().then(
        () => undefined,
        () => undefined,
      );
      return { workflowId: lockId, runId: child.firstExecutionRunId, ended };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    const held = await quick.describeClusterLock({ lockWorkflowId: lockId });
    if (!held) {
      // Released between the start and the look: try again after a breath.
      await sleep('1s');
      continue;
    }
    const heldBy = holderOf(held);
    if (request.onBusy === 'fail') {
      throw ApplicationFailure.create({
        type: FailureType.ClusterBusy,
        message: clusterBusyMessage(request.cluster, heldBy, lockId),
        nonRetryable: true,
        details: [heldBy],
      });
    }
    request.onWaiting?.(heldBy);
    // Each watch ends within the hour (still held: watch again), so a wait of many hours adds
    // a handful of events, not thousands.
    let released = false;
    while (!released) released = await watch.awaitClusterLockRelease({ lockWorkflowId: lockId, runId: held.runId });
  }
}

async function release(lock: HeldLock): Promise<void> {
  try {
    // Addressed by run id: if an operator terminated this lock and another run took it since,
    // that other run must not be released by this one.
    await getExternalWorkflowHandle(lock.workflowId, lock.runId).signal(releaseLockSignal);
  } catch {
    return; // the lock has already ended: nothing to release
  }
  await lock.ended;
}
