// vsnap measured as a user runs it: a workflow started through the Temporal client and timed
// from the start call to its result, on the bench's worker process.
import type { VsnapClient } from '../client/connection';
import type { BackupResult } from '../workflows/backup';
import type { RestoreReport } from '../workflows/restore-types';
import { BENCH_TASK_QUEUE } from './worker-process';

export interface TimedBackup {
  seconds: number;
  key: string;
  size: number;
}

let runs = 0;
const workflowId = (kind: string) => `bench-${kind}-${Date.now()}-${++runs}`;

export async function vsnapBackup(temporal: VsnapClient): Promise<TimedBackup> {
  const started = performance.now();
  const handle = await temporal.client.workflow.start('backup', {
    taskQueue: BENCH_TASK_QUEUE,
    workflowId: workflowId('backup'),
    args: [{ cluster: 'bench' }],
  });
  const result = (await handle.result()) as BackupResult;
  return { seconds: (performance.now() - started) / 1000, key: result.key, size: result.size };
}

export async function vsnapRestore(
  temporal: VsnapClient,
  key: string,
): Promise<{ seconds: number; steps: Record<string, number> }> {
  const started = performance.now();
  const handle = await temporal.client.workflow.start('restore', {
    taskQueue: BENCH_TASK_QUEUE,
    workflowId: workflowId('restore'),
    args: [{ target: 'drill', source: 'bench', snapshot: key }],
  });
  const report = (await handle.result()) as RestoreReport;
  const seconds = (performance.now() - started) / 1000;
  if (!report.passed) throw new Error(`vsnap restore of ${key} did not pass its checks`);
  return { seconds, steps: Object.fromEntries(report.steps.map((s) => [s.step, s.seconds])) };
}
