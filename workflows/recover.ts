// The recover workflow: bring back single KV secrets (a path, or a folder's keys) from a
// snapshot into the live cluster, as new versions, without rolling anything else back.
// plan → read the snapshot on a throwaway server and compare with the live secrets (names
// only) → (dry run: stop) → (approval, on a protected cluster) → the cluster's lock → write,
// with check-and-set against what the plan saw. Values never cross into history: reading and
// writing happen inside one activity each.
import { ApplicationFailure, defineQuery, proxyActivities, setHandler, upsertMemo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { quickActivity, targetStepActivity } from './activity-options';
import { acceptApprovals } from './approval';
import { type LockHolder, withClusterLock } from './cluster-lock';
import { FailureType } from './names';
import { parseRecoverInput, type RecoverInput, type RecoverItem, type RecoverReport } from './recover-types';
import type { StepTiming } from './restore-types';
import { labelRun } from './run-labels';

export interface RecoverProgress {
  step: 'plan' | 'read-snapshot' | 'awaiting-approval' | 'waiting-for-lock' | 'write' | 'done' | 'failed';
  key?: string;
  /** What the run would write, once read: names and versions only. */
  items?: RecoverItem[];
  skipped?: string[];
  waitingFor?: LockHolder;
}

export const recoverProgressQuery = defineQuery<RecoverProgress>('progress');

const quick = proxyActivities<Activities>(quickActivity);
const onServer = proxyActivities<Activities>(targetStepActivity);

export async function recover(input: RecoverInput): Promise<RecoverReport> {
  const options = parseRecoverInput(input);
  labelRun('recover', options.cluster);
  const progress: RecoverProgress = { step: 'plan' };
  setHandler(recoverProgressQuery, () => progress);
  const approvals = acceptApprovals(
    'recover',
    () => progress.step === 'awaiting-approval',
    () => progress.step,
  );
  const steps: StepTiming[] = [];
  const timed = async <T>(step: RecoverProgress['step'], fn: () => Promise<T>): Promise<T> => {
    progress.step = step;
    const began = Date.now();
    const result = await fn();
    steps.push({ step, seconds: (Date.now() - began) / 1000 });
    return result;
  };

  try {
    const plan = await timed('plan', () => quick.planRecover({ cluster: options.cluster, snapshot: options.snapshot }));
    progress.key = plan.restore.key;
    upsertMemo({ vsnapCluster: plan.cluster, vsnapSnapshotKey: plan.restore.key, vsnapRecoverPath: options.path });
    const request = {
      path: options.path,
      ...(options.version !== undefined ? { version: options.version } : {}),
      ...(options.to ? { to: options.to } : {}),
    };
    const read = await timed('read-snapshot', () => onServer.readRecoverItems({ plan, request }));
    progress.items = read.items;
    progress.skipped = read.skipped;
    const report = (items: RecoverItem[]): RecoverReport => ({
      cluster: plan.cluster,
      key: plan.restore.key,
      snapshotTakenAt: plan.restore.snapshotTakenAt,
      path: options.path,
      dryRun: options.dryRun,
      items,
      skipped: read.skipped,
      written: items.filter((i) => i.written).length,
      ...(approvals.current() ? { approval: approvals.current() } : {}),
      steps,
    });
    if (options.dryRun || read.items.every((i) => i.identical)) {
      progress.step = 'done';
      return report(read.items);
    }

    if (plan.protected) {
      const approved = await timed('awaiting-approval', () => approvals.wait(options.approvalTimeoutMinutes * 60_000));
      if (!approved) {
        throw ApplicationFailure.create({
          type: FailureType.ApprovalTimeout,
          message:
            `cluster ${plan.cluster} is protected and nobody approved within ${options.approvalTimeoutMinutes} minutes; ` +
            `nothing was written. Start again and run "vsnap approve <workflow id>"`,
          nonRetryable: true,
        });
      }
    }

    // The write waits its turn behind a backup, restore or drill of the cluster: a restore
    // running at the same time would replace what it writes.
    const lock = {
      cluster: plan.cluster,
      kind: 'recover' as const,
      onBusy: 'wait' as const,
      onWaiting: (holder: LockHolder) => {
        progress.step = 'waiting-for-lock';
        progress.waitingFor = holder;
      },
    };
    const written = await withClusterLock(lock, async () => {
      delete progress.waitingFor;
      return timed('write', () => onServer.writeRecoveredSecrets({ plan, request, planned: read.items }));
    });
    progress.items = written;
    progress.step = 'done';
    return report(written);
  } catch (err) {
    progress.step = 'failed';
    throw err;
  }
}
