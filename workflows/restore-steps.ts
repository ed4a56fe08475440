// The restore sequence shared by the `restore` and `verify` workflows, step by step as an
// operator would run it by hand: plan → (wait for the target's lock) → (protected targets:
// fetch and verify → approval) → regenerate root → restore → unseal → regenerate root on the restored cluster →
// check → revoke. Each step is its own activity with its own retries, so the UI shows which
// one is stuck; root tokens pass between steps only wrapped. Deterministic: timings use
// Temporal's workflow clock.
import {
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { HandedToken } from '../activities/token-handoff';
import type { KeyringOrder } from '../activities/restore-keyrings';
import { quickActivity, streamingActivity, targetStepActivity } from './activity-options';
import { acceptApprovals } from './approval';
import { type LockHolder, withClusterLock } from './cluster-lock';
import { FailureType } from './names';
import { optional, PRIMARY_LOCATION, type RestoreOptions } from './restore-input';
import type {
  ReadFrom,
  RestoreCheck,
  RestorePlan,
  RestoreReport,
  SkippedLocation,
  StepTiming,
  TargetChange,
} from './restore-types';
import { labelRun } from './run-labels';
import { failureTypeOf, sayWhetherTargetChanged } from './target-change';

export interface RestoreProgress {
  step:
    | 'plan'
    | 'waiting-for-lock'
    | 'fetch'
    | 'awaiting-approval'
    | 'regenerate-root'
    | 'restore'
    | 'unseal'
    | 'check'
    | 'ephemeral-drill'
    | 'revoke'
    | 'record'
    | 'done'
    | 'failed'
    | 'cancelled';
  target?: string;
  key?: string;
  /** Bytes of the snapshot moved by completed steps (live bytes: the activity's heartbeat). */
  bytes: number;
  /** Size of the snapshot, once planned: what a progress bar counts towards. */
  totalBytes?: number;
  approvedBy?: string;
  /** The operation this run waits for, while it waits for the target's lock. */
  waitingFor?: LockHolder;
  /** Whether the target has been changed so far: "unknown" once a restore may have reached it. */
  targetChanged: TargetChange;
}

export const progressQuery = defineQuery<RestoreProgress>('progress');

const quick = proxyActivities<Activities>(quickActivity);
const streaming = proxyActivities<Activities>(streamingActivity);
const onTarget = proxyActivities<Activities>(targetStepActivity);

/** Failures of the restore step that happen before Vault can have received a whole snapshot. */
const NOTHING_SENT: string[] = [
  FailureType.WrappedTokenReused,
  FailureType.ChecksumMismatch,
  FailureType.ArchiveInvalid,
];

/** How often a step may find its root token gone (a worker killed mid-step) before the run gives up. */
const MAX_TOKEN_REISSUES = 3;

export async function runRestore(kind: 'restore' | 'verify', options: RestoreOptions): Promise<RestoreReport> {
  // A drill is filed under the cluster whose backup it proves; a restore under its target.
  const labelCluster = (p?: { target: string; source: string }) =>
    kind === 'verify' ? (p?.source ?? options.source) : (p?.target ?? options.target);
  labelRun(kind, labelCluster());
  const progress: RestoreProgress = { step: 'plan', bytes: 0, targetChanged: 'no' };
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

  let plan: RestorePlan = await timed('plan', () =>
    quick.planRestore({
      ...(options.target ? { target: options.target } : {}),
      ...(options.source ? { source: options.source } : {}),
      snapshot: options.snapshot,
      force: options.force,
      ...(options.from !== PRIMARY_LOCATION ? { from: options.from } : {}),
    }),
  );
  progress.target = plan.target;
  progress.key = plan.key;
  progress.totalBytes = plan.manifest.size;
  labelRun(kind, labelCluster(plan));
  upsertMemo({
    vsnapCluster: plan.target,
    vsnapSource: plan.source,
    vsnapSnapshotKey: plan.key,
    vsnapTargetChanged: progress.targetChanged,
  });

  // "from": "any": a verifying read of each location in turn picks the first intact one before
  // anything touches the target, so a damaged or unreachable primary never half-restores it.
  // That read is the fetch: a protected target's approver is shown an object already verified.
  let skipped: SkippedLocation[] = plan.skipped ?? [];
  const chooseLocation = async (): Promise<boolean> => {
    if (!plan.candidates || !patched('restore-from-copies')) return false;
    const chosen = await timed('fetch', () => streaming.chooseSnapshotLocation(plan));
    plan = { ...plan, location: chosen.location };
    skipped = chosen.skipped;
    progress.bytes = chosen.bytes;
    return true;
  };
  const readFrom = (): ReadFrom | undefined => {
    if (!plan.from) return undefined;
    const read = plan.location ?? { name: PRIMARY_LOCATION, bucket: plan.bucket, key: plan.key };
    return { from: plan.from, location: read.name, bucket: read.bucket, key: read.key, skipped };
  };

  const report = (checks: RestoreCheck[]): RestoreReport => ({
    kind,
    target: plan.target,
    source: plan.source,
    key: plan.key,
    snapshotTakenAt: plan.snapshotTakenAt,
    snapshotAgeSeconds: Math.round((Date.now() - Date.parse(plan.snapshotTakenAt)) / 1000),
    dryRun: options.dryRun,
    ...approvals.report(),
    passed: checks.every((c) => c.status !== 'fail'),
    checks,
    steps,
    targetChanged: progress.targetChanged === 'yes',
    ...optional('readFrom', readFrom()),
  });

  if (plan.ephemeral) {
    // A throwaway server nobody else can reach: no lock, no approval, and the restore itself
    // is the verifying read (a bad object fails it, and only the throwaway server saw it).
    await chooseLocation();
    const drilled = await timed('ephemeral-drill', () =>
      onTarget.drillOnEphemeralServer({ plan, maxAgeDays: options.maxAgeDays }),
    );
    progress.bytes = drilled.bytes;
    progress.step = 'done';
    steps.push(...drilled.steps.map((s) => ({ step: `ephemeral-drill/${s.step}`, seconds: s.seconds })));
    return { ...report(drilled.checks), recoverySeconds: drilled.recoverySeconds };
  }

  if (options.dryRun) {
    if (!(await chooseLocation())) {
      const fetched = await timed('fetch', () => streaming.fetchSnapshot(plan));
      progress.bytes = fetched.bytes;
    }
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

  // A restore is started by someone at a keyboard: if the target is busy, they hear so at once
  // rather than queueing a second restore behind the first. A drill waits its turn.
  const lock = {
    cluster: plan.target,
    kind,
    onBusy: kind === 'restore' ? ('fail' as const) : ('wait' as const),
    onWaiting: (holder: LockHolder) => {
      progress.step = 'waiting-for-lock';
      progress.waitingFor = holder;
    },
  };
  return withClusterLock(lock, async () => {
    delete progress.waitingFor;
    // Whoever approves a restore into a protected cluster is shown an object already read
    // whole and verified. Elsewhere the restore step is the only read: it runs the same SHA-256
    // and archive checks in-stream and holds back the last batch until they pass, so Vault
    // never receives a whole bad snapshot. Runs started before one-pass restores keep the fetch.
    // With "any", choosing the location was that read.
    if (!(await chooseLocation()) && (plan.targetProtected || !patched('one-pass-restore'))) {
      const fetched = await timed('fetch', () => streaming.fetchSnapshot(plan));
      progress.bytes = fetched.bytes;
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

    // The root token handed over last and not yet known to be used up: revoked if the run stops.
    let handed: HandedToken | undefined;
    const withRootToken = async <T>(keyring: KeyringOrder, use: (token: HandedToken) => Promise<T>): Promise<T> => {
      for (let issued = 1; ; issued++) {
        handed = await timed('regenerate-root', () => onTarget.regenerateRoot({ plan, keyring }));
        try {
          return await use(handed);
        } catch (err) {
          // The step's worker died after unwrapping its token: go back and regenerate one.
          if (issued < MAX_TOKEN_REISSUES && failureTypeOf(err) === FailureType.RootTokenLost) continue;
          throw err;
        }
      }
    };

    // The restored snapshot's storage entries per mount, for the check; unknown when a retry found it already sent.
    let snapshotStorage: Record<string, number> | undefined;
    try {
      const restoreAndUnseal = async () => {
        const restored = await withRootToken('before-restore', (token) => {
          progress.targetChanged = 'unknown';
          return timed('restore', () => onTarget.restoreSnapshot({ plan, token }));
        }).catch((err: unknown) => {
          if (NOTHING_SENT.includes(failureTypeOf(err) ?? '')) progress.targetChanged = 'no';
          throw err;
        });
        progress.targetChanged = 'yes';
        handed = undefined;
        progress.bytes += restored.bytes;
        if (restored.storage) snapshotStorage = restored.storage;
        const unsealed = await timed('unseal', () => onTarget.unsealTarget({ plan, nodes: restored.nodes }));
        return { restored, unsealed };
      };
      const restoreBegan = Date.now();
      let { unsealed } = await restoreAndUnseal();
      if (plan.force && unsealed.unsealedWith === 'target') {
        // The target came back on its own keyring, so it never took the snapshot (the try that
        // sent it died before Vault received it all, and the target was sealed for another
        // reason). Restore again: it is the same snapshot, so the end state is the same.
        ({ unsealed } = await restoreAndUnseal());
      }
      const checked = await withRootToken('after-restore', (token) =>
        timed('check', () =>
          onTarget.checkRestoredCluster({
            plan,
            maxAgeDays: options.maxAgeDays,
            token,
            // Re-counting takes a second whole snapshot of the target (8.8 s of a 23.7 s
            // restore of 527 MiB on the bench): a drill's job, not a restore's.
            ...(snapshotStorage && kind === 'verify' ? { snapshotStorage } : {}),
          }),
        ),
      );
      handed = checked.token;
      const recoverySeconds = (Date.now() - restoreBegan) / 1000;
      await timed('revoke', () => onTarget.revokeRootToken({ plan, token: checked.token, cleanup: false }));
      handed = undefined;
      upsertMemo({ vsnapTargetChanged: 'yes' });
      progress.step = 'done';
      return { ...report(checked.checks), unsealedWithKeyShares: unsealed.unsealedNodes > 0, recoverySeconds };
    } catch (err) {
      progress.step = isCancellation(err) ? 'cancelled' : 'failed';
      const leftover = handed;
      // Runs even when the workflow is being cancelled: no token outlives the run.
      await CancellationScope.nonCancellable(async () => {
        upsertMemo({ vsnapTargetChanged: progress.targetChanged });
        if (leftover) {
          await onTarget.revokeRootToken({ plan, token: leftover, cleanup: true }).catch(() => undefined);
        }
      });
      throw sayWhetherTargetChanged(err, plan.target, progress.targetChanged);
    }
  });
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
