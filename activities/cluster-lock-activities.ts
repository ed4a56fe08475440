// What a run needs to know about a busy cluster's lock (workflows/cluster-lock.ts): who holds
// it, and when that holder is done. Read from Temporal itself with the worker's own client
// (same connection, namespace and payload encryption as the worker), so nothing to configure.
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';

/** A running lock run, as Temporal describes it; the workflow reads its holder from it. */
export interface RunningClusterLock {
  runId: string;
  /** The workflow that started the lock: its holder. */
  parentWorkflowId?: string;
  memo: Record<string, unknown>;
}

/** How often a waiting run looks whether the lock it waits for has ended. */
const WATCH_INTERVAL_MS = 1000;
/** A watch ends after this long and the workflow starts another (see lockWatchActivity). */
const WATCH_MAX_MS = 60 * 60 * 1000;

/** The run of the lock workflow `workflowId` (the latest, or `runId`), if it is running. */
async function runningLock(workflowId: string, runId?: string): Promise<RunningClusterLock | undefined> {
  try {
    const d = await Context.current().client.workflow.getHandle(workflowId, runId).describe();
    if (d.status.name !== 'RUNNING') return undefined;
    return {
      runId: d.runId,
      ...(d.parentExecution?.workflowId ? { parentWorkflowId: d.parentExecution.workflowId } : {}),
      memo: d.memo ?? {},
    };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

export function createClusterLockActivities() {
  return {
    /**
     * What a lock's id is scoped by: the task queue of the worker running the operation (each
     * deployment, and each test worker, locks on its own). A (local) activity rather than
     * workflowInfo(), so that its answer is recorded in history: a replay of the run then uses
     * the lock id the run really used, whatever task queue the replayer runs it on.
     */
    // eslint-disable-next-line @typescript-eslint/require-await
    async clusterLockScope(): Promise<string> {
      return Context.current().info.taskQueue;
    },

    /** Who holds the lock now; undefined when it was released meanwhile. */
    async describeClusterLock(input: { lockWorkflowId: string }): Promise<RunningClusterLock | undefined> {
      return runningLock(input.lockWorkflowId);
    },

    /**
     * Waits until that run of the lock has ended (true), or up to an hour (false: still held).
     * Heartbeats on every look, which also carries the waiting run's cancellation here.
     */
    async awaitClusterLockRelease(input: { lockWorkflowId: string; runId: string }): Promise<boolean> {
      const ctx = Context.current();
      const deadline = Date.now() + WATCH_MAX_MS;
      while (Date.now() < deadline) {
        ctx.heartbeat({ step: 'waiting-for-lock', lock: input.lockWorkflowId });
        if (!(await runningLock(input.lockWorkflowId, input.runId))) return true;
        await ctx.sleep(WATCH_INTERVAL_MS);
      }
      return false;
    },
  };
}
