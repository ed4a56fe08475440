// One operation that writes to a cluster at a time (workflows/cluster-lock.ts), on the real
// stack. The lock itself is driven by a test workflow that holds it until told to finish
// (test/fixtures/lock-workflows.ts); then two real backups of one cluster, started together.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { manifestKeyFor } from '../../activities/storage/snapshot-keys';
import type { SnapshotManifest } from '../../activities/storage/manifest';
import type { backup, BackupProgress } from '../../workflows/backup';
import { clusterLockId } from '../../workflows/cluster-lock';
import { FailureType } from '../../workflows/names';
import type { restore } from '../../workflows/restore';
import type { RestoreProgress } from '../../workflows/restore-steps';
import type { RestoreReport } from '../../workflows/restore-types';
import { VsnapCluster, VsnapKind } from '../../workflows/search-attributes';
import type { verify } from '../../workflows/verify';
import type { ClusterConfig } from '../../worker/config';
import { sealStanza } from '../../scripts/stack/seals';
import type { holdClusterLock, LockTestProgress } from '../fixtures/lock-workflows';
import { objectBytes } from '../helpers/bucket';
import { failureOf, start, waitForProgress } from '../helpers/runs';
import { startScratchCluster, type ScratchCluster } from '../helpers/scratch-bao';
import { startFaultProxy } from '../helpers/fault-proxy';
import {
  activeProdNode,
  baoInit,
  isolatedCluster,
  stackUpstreamTls,
  startTestWorker,
  type TestWorker,
} from '../helpers/stack';

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

describe('one operation per cluster: the cluster lock', () => {
  const prodInit = baoInit('prod');
  // prod's data under a prefix of its own, drilled into a throwaway server sealed as prod is,
  // so the stack's drill (and whoever tests against it) is left alone.
  const source = isolatedCluster('lock-prod');
  let drillTarget: ScratchCluster;
  let bundleDir: string;
  let worker: TestWorker;

  before(async () => {
    bundleDir = mkdtempSync(join(tmpdir(), 'vsnap-lock-bundle-'));
    const bundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('../fixtures/lock-workflows'),
      logger: new DefaultLogger('WARN'),
    });
    writeFileSync(join(bundleDir, 'workflows.js'), bundle.code);
    drillTarget = await startScratchCluster(
      prodInit.seal === 'shamir'
        ? { basePort: 19450, keyShares: { shares: prodInit.keys.length, threshold: prodInit.threshold } }
        : { basePort: 19450, autoUnsealStanza: sealStanza(prodInit.seal) },
    );
    const drill: ClusterConfig = {
      ...isolatedCluster('lock-drill'),
      address: drillTarget.nodes[0].address,
      auth: { method: 'token', tokenEnv: 'TEST_LOCK_DRILL_TOKEN' },
      keyShares: { source: 'env', name: 'TEST_LOCK_DRILL_SHARES' },
      drillSource: source.name,
      protected: false,
    };
    delete drill.tlsServerName;
    worker = await startTestWorker({
      clusters: [source, drill],
      workflowBundlePath: join(bundleDir, 'workflows.js'),
      env: {
        TEST_LOCK_DRILL_TOKEN: drillTarget.rootToken,
        TEST_LOCK_DRILL_SHARES: JSON.stringify({
          keys: drillTarget.keys,
          threshold: prodInit.seal === 'shamir' ? prodInit.threshold : 2,
        }),
      },
    });
  });

  after(async () => {
    await worker?.stop();
    await drillTarget?.stop();
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
  });

  const hold = (cluster: string, kind: 'backup' | 'restore' | 'verify', onBusy: 'wait' | 'fail') =>
    start<typeof holdClusterLock>(worker, 'holdClusterLock', { cluster, kind, onBusy });
  const holding = (h: WorkflowHandle) => waitForProgress<LockTestProgress>(h, (p) => p.step === 'holding');
  const finish = (h: WorkflowHandle, fail = false) => h.signal('finish', { fail });
  const lockOf = (cluster: string, runId?: string) =>
    worker.temporal.client.workflow.getHandle(clusterLockId(worker.taskQueue, cluster), runId);

  test('a held lock is a running clusterLock run that names its holder; it completes when the holder is done', async () => {
    const holder = await hold('lock-visible', 'restore', 'wait');
    await holding(holder);

    const lock = await lockOf('lock-visible').describe();
    assert.equal(lock.workflowId, `${worker.taskQueue}-lock-lock-visible`);
    assert.equal(lock.type, 'clusterLock');
    assert.equal(lock.status.name, 'RUNNING');
    assert.equal(lock.parentExecution?.workflowId, holder.workflowId);
    assert.equal(lock.memo?.vsnapLockHolder, holder.workflowId);
    assert.equal(lock.memo?.vsnapLockHolderKind, 'restore');
    assert.equal(lock.typedSearchAttributes.get(VsnapKind), 'lock');
    assert.equal(lock.typedSearchAttributes.get(VsnapCluster), 'lock-visible');

    await finish(holder);
    await holder.result();
    const ended = await lockOf('lock-visible', lock.runId).describe();
    assert.equal(ended.status.name, 'COMPLETED', 'released by its holder, not terminated with it');
  });

  test('onBusy "fail" fails at once with ClusterBusy naming the running operation and the fix; the holder keeps the lock', async () => {
    const holder = await hold('lock-busy', 'backup', 'wait');
    await holding(holder);
    const began = Date.now();
    const refused = await hold('lock-busy', 'restore', 'fail');
    const failure = await failureOf(refused);
    assert.equal(failure.type, FailureType.ClusterBusy);
    assert.equal(failure.nonRetryable, true);
    assert.ok(failure.message.includes(`backup ${holder.workflowId}`), failure.message);
    assert.match(failure.message, /cluster lock-busy is busy/);
    assert.match(failure.message, /wait for it to finish, or cancel it, and start again/);
    assert.ok(Date.now() - began < 30_000, 'refused at once, without waiting');

    assert.equal((await lockOf('lock-busy').describe()).parentExecution?.workflowId, holder.workflowId);
    await finish(holder);
    await holder.result();
  });

  test('onBusy "wait" shows the holder while waiting and takes the lock once the holder is done, even failed', async () => {
    const first = await hold('lock-queue', 'backup', 'wait');
    await holding(first);
    const second = await hold('lock-queue', 'verify', 'wait');
    const waiting = await waitForProgress<LockTestProgress>(second, (p) => p.step === 'waiting');
    assert.deepEqual(waiting.waitedFor, [{ workflowId: first.workflowId, kind: 'backup' }]);

    await finish(first, true);
    await assert.rejects(first.result(), 'the first holder failed');
    await holding(second);
    assert.equal((await lockOf('lock-queue').describe()).parentExecution?.workflowId, second.workflowId);
    await finish(second);
    const result = await second.result();
    assert.deepEqual(result.waitedFor, [{ workflowId: first.workflowId, kind: 'backup' }]);
  });

  test('a cancelled holder releases the lock before it closes; the waiting run takes it', async () => {
    const first = await hold('lock-cancel', 'restore', 'wait');
    await holding(first);
    const firstLock = await lockOf('lock-cancel').describe();
    const second = await hold('lock-cancel', 'backup', 'wait');
    await waitForProgress<LockTestProgress>(second, (p) => p.step === 'waiting');

    await first.cancel();
    await assert.rejects(first.result());
    assert.equal((await first.describe()).status.name, 'CANCELLED');
    assert.equal((await lockOf('lock-cancel', firstLock.runId).describe()).status.name, 'COMPLETED');
    await holding(second);
    await finish(second);
    await second.result();
  });

  test('a terminated holder cannot release, yet frees the lock: the server terminates the lock with it', async () => {
    const first = await hold('lock-terminated', 'backup', 'wait');
    await holding(first);
    const firstLock = await lockOf('lock-terminated').describe();
    const second = await hold('lock-terminated', 'backup', 'wait');
    await waitForProgress<LockTestProgress>(second, (p) => p.step === 'waiting');

    await first.terminate('the test kills the holder');
    await holding(second);
    assert.equal((await lockOf('lock-terminated', firstLock.runId).describe()).status.name, 'TERMINATED');
    assert.equal((await lockOf('lock-terminated').describe()).parentExecution?.workflowId, second.workflowId);
    await finish(second);
    await second.result();
  });

  test('two backups of one cluster started together: one waits for the other, and each snapshot holds its own canary', async () => {
    // Both on a worker that reaches prod through a proxy holding each snapshot after its first
    // bytes until released: the holder keeps the lock until the other run has been seen waiting,
    // however fast a backup is here, so the wait cannot slip between two looks at the runs.
    const heldVault = await startFaultProxy(await activeProdNode(), {
      holdSnapshotAfterBytes: 16 * 1024,
      upstreamTls: stackUpstreamTls('prod'),
    });
    const heldWorker = await startTestWorker({
      clusters: [{ ...source, address: heldVault.address }],
      workflowBundlePath: join(bundleDir, 'workflows.js'),
    });
    let runs: WorkflowHandle<typeof backup>[];
    let waiter: WorkflowHandle<typeof backup>;
    let progress: BackupProgress;
    let first: Awaited<ReturnType<typeof backup>>;
    let second: Awaited<ReturnType<typeof backup>>;
    try {
      runs = await Promise.all([
        start<typeof backup>(heldWorker, 'backup', { cluster: source.name }),
        start<typeof backup>(heldWorker, 'backup', { cluster: source.name }),
      ]);
      ({ waiter, progress } = await firstToWait(runs));
      heldVault.releaseSnapshots();
      const holderRun = runs.find((r) => r !== waiter)!;
      [first, second] = [await holderRun.result(), await waiter.result()];
    } finally {
      heldVault.releaseSnapshots(); // a failed look must not leave an activity held
      await heldWorker.stop();
      await heldVault.close();
    }
    // The held worker's connection is closed: read the runs through this file's worker.
    const holder = worker.temporal.client.workflow.getHandle(runs.find((r) => r !== waiter)!.workflowId);
    waiter = worker.temporal.client.workflow.getHandle(waiter.workflowId);
    assert.deepEqual(progress.waitingFor, { workflowId: holder.workflowId, kind: 'backup' });

    // From history: the waiter wrote its canary only after the holder's lock had ended.
    const released = eventTime(await historyOf(holder), (e) => !!e.childWorkflowExecutionCompletedEventAttributes);
    const waiterHistory = await historyOf(waiter);
    assert.ok(
      waiterHistory.some((e) => e.startChildWorkflowExecutionFailedEventAttributes),
      'the lock was busy',
    );
    const canaryWritten = eventTime(waiterHistory, (e) => activityName(e) === 'writeCanary');
    assert.ok(canaryWritten >= released, `canary at ${canaryWritten}, lock released at ${released}`);

    // Each manifest records its own backup's canary, and keys follow the order of the snapshots.
    assert.ok(first.key < second.key, `${first.key} before ${second.key}`);
    for (const [handle, result] of [
      [holder, first],
      [waiter, second],
    ] as const) {
      const manifest = JSON.parse((await objectBytes(manifestKeyFor(result.key))).toString()) as SnapshotManifest;
      assert.equal(manifest.canary.workflowId, handle.workflowId);
      assert.equal(manifest.canary.value, result.canaryValue);
    }

    // The proof that each snapshot holds the canary its manifest records: a drill of each.
    for (const result of [first, second]) {
      const report: RestoreReport = await (
        await start<typeof verify>(worker, 'verify', { cluster: source.name, snapshot: result.key })
      ).result();
      const canaryCheck = report.checks.find((c) => c.name.startsWith('canary matches manifest'));
      assert.equal(canaryCheck?.status, 'pass', `${result.key}: ${JSON.stringify(report.checks)}`);
      assert.equal(report.passed, true, JSON.stringify(report.checks));
    }
  });

  test('two verifies of the same source and target started together: one waits for the other, and both drills pass', async () => {
    const drill = worker.config.clusters.find((c) => c.drillSource === source.name)!.name;
    await (await start<typeof backup>(worker, 'backup', { cluster: source.name })).result();
    const runs = await Promise.all([
      start<typeof verify>(worker, 'verify', { cluster: source.name }),
      start<typeof verify>(worker, 'verify', { cluster: source.name }),
    ]);
    const { waiter, progress } = await firstToWait<(typeof runs)[number], RestoreProgress>(runs);
    const holder = runs.find((r) => r !== waiter)!;
    assert.deepEqual(progress.waitingFor, { workflowId: holder.workflowId, kind: 'verify' });
    const reports: RestoreReport[] = [await holder.result(), await waiter.result()];
    for (const report of reports) {
      assert.equal(report.target, drill);
      assert.equal(report.passed, true, JSON.stringify(report.checks));
    }
    // The waiter touched the target only after the holder's lock had ended.
    const released = eventTime(await historyOf(holder), (e) => !!e.childWorkflowExecutionCompletedEventAttributes);
    const firstTouch = eventTime(await historyOf(waiter), (e) => activityName(e) === 'regenerateRoot');
    assert.ok(firstTouch >= released, `waiter's first step on ${drill} at ${firstTouch}, lock released at ${released}`);
  });

  test('a restore into a target a drill is writing fails at once with ClusterBusy naming the drill; the drill passes', async () => {
    const drill = worker.config.clusters.find((c) => c.drillSource === source.name)!.name;
    const drillRun = await start<typeof verify>(worker, 'verify', { cluster: source.name });
    await waitForProgress<RestoreProgress>(drillRun, (p) => !['plan', 'waiting-for-lock'].includes(p.step));
    const failure = await failureOf(await start<typeof restore>(worker, 'restore', { target: drill }));
    assert.equal(failure.type, FailureType.ClusterBusy);
    assert.match(failure.message, new RegExp(`verify ${drillRun.workflowId}`));
    assert.match(failure.message, /Nothing was changed/);
    const report: RestoreReport = await drillRun.result();
    assert.equal(report.passed, true, JSON.stringify(report.checks));
  });
});

/** Polls both runs' progress until one of them is waiting for the lock. */
async function firstToWait<H extends WorkflowHandle, P extends { step: string } = BackupProgress>(
  runs: H[],
  timeoutMs = 120_000,
): Promise<{ waiter: H; progress: P }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const run of runs) {
      const progress = await run.query<P>('progress').catch(() => undefined);
      if (progress?.step === 'waiting-for-lock') return { waiter: run, progress };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`neither of ${runs.map((r) => r.workflowId).join(', ')} was seen waiting for the lock`);
}

async function historyOf(handle: WorkflowHandle): Promise<HistoryEvent[]> {
  return (await handle.fetchHistory()).events ?? [];
}

function activityName(e: HistoryEvent): string | undefined {
  return e.activityTaskScheduledEventAttributes?.activityType?.name ?? undefined;
}

function eventTime(events: HistoryEvent[], match: (e: HistoryEvent) => boolean): number {
  const event = events.find(match);
  assert.ok(event, 'the event is in the history');
  return tsToMs(event.eventTime);
}
