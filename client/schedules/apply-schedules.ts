// `vsnap schedule apply`: makes the Temporal Schedules match the file. Creates missing ones,
// updates changed ones, leaves the rest alone, and with `prune` deletes schedules vsnap created
// that the file no longer lists. Schedules vsnap did not create are never touched.
import { createHash } from 'node:crypto';
import {
  type Client,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type ScheduleOptions,
  type ScheduleOptionsStartWorkflowAction,
  type Workflow,
} from '@temporalio/client';
import { runSearchAttributes } from '../../workflows/search-attributes';
import { type DesiredSchedule, rhythmOf } from './schedule-file';

/** Schedule memo marking what vsnap owns (and may update or prune). */
export const MANAGED_BY = { managedBy: 'vsnap' };

export type ChangeAction = 'create' | 'update' | 'unchanged' | 'delete';

export interface ScheduleChange {
  id: string;
  action: ChangeAction;
  detail?: string;
}

export class ScheduleConflictError extends Error {}

/** Content hash of what the file asks for: compared on the next apply to see what changed. */
function specHash(d: DesiredSchedule, taskQueue: string): string {
  return createHash('sha256').update(JSON.stringify({ d, taskQueue })).digest('hex').slice(0, 16);
}

export function toScheduleOptions(
  d: DesiredSchedule,
  taskQueue: string,
): ScheduleOptions<ScheduleOptionsStartWorkflowAction<Workflow>> {
  return {
    scheduleId: d.id,
    // Cron in UTC (the schedule's default time zone), as the cron-job procedure's cron job ran; or a fixed interval.
    spec:
      d.every !== undefined
        ? { intervals: [{ every: d.every }], jitter: d.jitter }
        : { cronExpressions: d.cron, jitter: d.jitter },
    action: {
      type: 'startWorkflow',
      workflowType: d.kind,
      taskQueue,
      // Temporal appends the run's time to this id, so runs of one schedule never collide.
      workflowId: d.id,
      args: [{ cluster: d.cluster, ...d.input }],
      typedSearchAttributes: runSearchAttributes(d.kind, d.cluster),
      // The server keeps cron as calendar specs and intervals in seconds; the memo keeps the text
      // the file used, for `list`.
      memo: {
        vsnapSchedule: d.id,
        vsnapSpecHash: specHash(d, taskQueue),
        ...(d.every !== undefined ? { vsnapEvery: String(d.every) } : { vsnapCron: d.cron.join(' | ') }),
      },
    },
    policies: {
      // Two snapshots of one cluster never run at once; a drill that is still restoring is not
      // restarted over.
      overlap: ScheduleOverlapPolicy.SKIP,
      catchupWindow: d.catchupWindow,
      pauseOnFailure: d.pauseOnFailure,
    },
    state: { paused: d.paused, ...(d.note ? { note: d.note } : {}) },
    memo: MANAGED_BY,
  };
}

export async function applySchedules(
  client: Client,
  taskQueue: string,
  desired: DesiredSchedule[],
  options: { prune: boolean; dryRun: boolean },
): Promise<ScheduleChange[]> {
  const changes: ScheduleChange[] = [];
  for (const d of desired) {
    const wanted = toScheduleOptions(d, taskQueue);
    const handle = client.schedule.getHandle(d.id);
    const existing = await handle.describe().catch((err: unknown) => {
      if (err instanceof ScheduleNotFoundError) return undefined;
      throw err;
    });
    if (!existing) {
      if (!options.dryRun) await client.schedule.create(wanted);
      changes.push({ id: d.id, action: 'create', detail: `${d.kind} ${d.cluster} ${rhythmOf(d)}` });
      continue;
    }
    if (existing.memo?.managedBy !== MANAGED_BY.managedBy) {
      throw new ScheduleConflictError(
        `schedule "${d.id}" exists and was not created by vsnap; rename it in the file or delete it first`,
      );
    }
    const current = existing.action.type === 'startWorkflow' ? existing.action.memo?.vsnapSpecHash : undefined;
    if (current === wanted.action.memo?.vsnapSpecHash) {
      changes.push({ id: d.id, action: 'unchanged' });
      continue;
    }
    if (!options.dryRun) {
      await handle.update(() => ({
        spec: wanted.spec,
        action: wanted.action,
        policies: wanted.policies,
        state: { paused: d.paused, ...(d.note ? { note: d.note } : {}) },
      }));
    }
    changes.push({ id: d.id, action: 'update', detail: `${d.kind} ${d.cluster} ${rhythmOf(d)}` });
  }
  if (options.prune) {
    // Only schedules of this task queue: one file describes one worker fleet's schedules.
    const keep = new Set(desired.map((d) => d.id));
    for await (const summary of client.schedule.list()) {
      if (keep.has(summary.scheduleId) || summary.memo?.managedBy !== MANAGED_BY.managedBy) continue;
      const action = (await client.schedule.getHandle(summary.scheduleId).describe()).action;
      if (action.type !== 'startWorkflow' || action.taskQueue !== taskQueue) continue;
      if (!options.dryRun) await client.schedule.getHandle(summary.scheduleId).delete();
      changes.push({ id: summary.scheduleId, action: 'delete', detail: 'no longer in the file' });
    }
  }
  return changes;
}
