// The restore sequence shared by the `restore` and `verify` workflows: plan → (approval) →
// fetch and verify → restore → checks, with cleanup on failure or cancellation. Deterministic:
// timings use Temporal's workflow clock.
import {
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  proxyActivities,
  setHandler,
  upsertMemo,
} from '@temporalio/workflow';
import { acceptApprovals } from './approval';
import { labelRun } from './run-labels';
import type { Activities } from '../activities';
import { quickActivity, streamingActivity } from './activity-options';
import { FailureType } from './names';
import type { RestoreOptions } from './restore-input';
import type { RestoreCheck, RestorePlan, RestoreReport, StepTiming } from './restore-types';

export interface RestoreProgress {
  step: 'plan' | 'awaiting-approval' | 'fetch' | 'restore' | 'check' | 'record' | 'done' | 'failed';
  target?: string;
  key?: string;
  /** Bytes of the snapshot moved by completed steps (live bytes: the activity's heartbeat). */
  bytes: number;
  /** Size of the snapshot, once planned: what a progress bar counts towards. */
  totalBytes?: number;
  approvedBy?: string;
}

export const progressQuery = defineQuery<RestoreProgress>('progress');

const quick = proxyActivities<Activities>(quickActivity);
const streaming = proxyActivities<Activities>(streamingActivity);

export async function runRestore(kind: 'restore' | 'verify', options: RestoreOptions): Promise<RestoreReport> {
  labelRun(kind, options.target);
  const progress: RestoreProgress = { step: 'plan', bytes: 0 };
  setHandler(progressQuery, () => progress);
  const approvals = acceptApprovals(
    kind,
    () => progress.step === 'awaiting-approval',
    () => progress.step,
  );

  const steps: StepTiming[] = [];
  const timed = async <T>(step: RestoreProgress['step'], fn: () => Promise<T>): Promise<T> => {
    progress.step = step;
    const began = Date.now();
    const result = await fn();
    steps.push({ step, seconds: (Date.now() - began) / 1000 });
    return result;
  };

  const plan: RestorePlan = await timed('plan', () =>
    quick.planRestore({
      ...(options.target ? { target: options.target } : {}),
      ...(options.source ? { source: options.source } : {}),
      snapshot: options.snapshot,
      force: options.force,
    }),
  );
  progress.target = plan.target;
  labelRun(kind, plan.target);
  progress.key = plan.key;
  progress.totalBytes = plan.manifest.size;
  upsertMemo({ vsnapCluster: plan.target, vsnapSource: plan.source, vsnapSnapshotKey: plan.key });

  const report = (checks: RestoreCheck[]): RestoreReport => ({
    kind,
    target: plan.target,
    source: plan.source,
    key: plan.key,
    snapshotTakenAt: plan.snapshotTakenAt,
    snapshotAgeSeconds: Math.round((Date.now() - Date.parse(plan.snapshotTakenAt)) / 1000),
    dryRun: options.dryRun,
    ...(approvals.current() ? { approvedBy: approvals.current()!.approver } : {}),
    passed: checks.every((c) => c.status !== 'fail'),
    checks,
    steps,
  });

  const fetched = await timed('fetch', () => streaming.fetchSnapshot(plan));
  progress.bytes = fetched.bytes;
  if (options.dryRun) {
    progress.step = 'done';
    return report([
      {
        name: 'object matches manifest and archive validates',
        status: 'pass',
        expected: plan.manifest.sha256,
        actual: 'match',
      },
    ]);
  }

  if (plan.targetProtected) {
    const approved = await timed('awaiting-approval', () => approvals.wait(options.approvalTimeoutMinutes * 60_000));
    progress.approvedBy = approvals.current()?.approver;
    if (!approved) {
      throw ApplicationFailure.create({
        type: FailureType.ApprovalTimeout,
        message:
          `target ${plan.target} is protected and nobody approved within ${options.approvalTimeoutMinutes} minutes; ` +
          `nothing was changed. Start again and run "vsnap approve <workflow id>"`,
        nonRetryable: true,
      });
    }
  }

  try {
    const restored = await timed('restore', () => streaming.restoreSnapshot(plan));
    progress.bytes += fetched.bytes;
    const checks = await timed('check', () => quick.checkRestoredCluster({ plan, maxAgeDays: options.maxAgeDays }));
    progress.step = 'done';
    return { ...report(checks), unsealedWithKeyShares: restored.unsealed };
  } catch (err) {
    progress.step = 'failed';
    // Runs even when the workflow is being cancelled: no generate-root attempt left open.
    await CancellationScope.nonCancellable(() => quick.abandonRestore({ target: plan.target }));
    throw err;
  }
}

/** A report with a failed check fails the run, naming each failed check and why. */
export function failIfChecksFailed(report: RestoreReport): void {
  const failed = report.checks.filter((c) => c.status === 'fail');
  if (failed.length === 0) return;
  throw ApplicationFailure.create({
    type: FailureType.CheckFailed,
    message: failed.map((c) => `check "${c.name}" failed: expected ${c.expected}, got ${c.actual}`).join('; '),
    nonRetryable: true,
    details: [report],
  });
}
