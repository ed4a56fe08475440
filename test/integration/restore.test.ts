// Restore and verify (the restore drill) against the real stack: Temporal dev server, OpenBao
// prod (three nodes behind a load balancer) and drill, auto-unsealed by the key service's
// transit engine, moto; and a Shamir pair of scratch OpenBao clusters, the target of three nodes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { manifestKeyFor, verificationKeyFor } from '../../activities/storage/snapshot-keys';
import type { SnapshotManifest } from '../../activities/storage/manifest';
import type { backup } from '../../workflows/backup';
import { FailureType } from '../../workflows/names';
import type { restore } from '../../workflows/restore';
import type { RestoreProgress } from '../../workflows/restore-steps';
import type { RestoreReport, VerificationRecord } from '../../workflows/restore-types';
import type { verify } from '../../workflows/verify';
import type { ClusterConfig } from '../../worker/config';
import { objectBytes, putBytes } from '../helpers/bucket';
import { drillTokenAccessors, generateRootStarted, markDrill } from '../helpers/drill';
import { until } from '../helpers/worker-process';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy';
import { activityAttempts, activityTypes, failureOf, start, waitForProgress } from '../helpers/runs';
import { startScratchCluster, type ScratchCluster } from '../helpers/scratch-bao';
import {
  findLeakedSecrets,
  isolatedCluster,
  stackConfig,
  stackEnv,
  startTestWorker,
  type TestWorker,
  stackUpstreamTls,
} from '../helpers/stack';

function checkNamed(report: RestoreReport, name: string) {
  const check = report.checks.find((c) => c.name.startsWith(name));
  assert.ok(check, `report has a check named "${name}": ${JSON.stringify(report.checks)}`);
  return check;
}

describe('restore and verify on the real stack', () => {
  const stack = stackConfig();
  const stackDrill = stack.clusters.find((c) => c.name === 'drill')!;
  const prod = isolatedCluster('prod');
  const tamper = isolatedCluster('prod-tamper');
  const drill: ClusterConfig = { ...stackDrill };
  const drillProtected: ClusterConfig = { ...stackDrill, name: 'drill-protected', protected: true };
  const drillNoDrill: ClusterConfig = { ...stackDrill, name: 'drill-nodrill' };
  delete drillNoDrill.drillSource;
  const drillNoKeys: ClusterConfig = { ...stackDrill, name: 'drill-nokeys' };
  delete drillNoKeys.keyShares;
  let drillSlow: ClusterConfig;
  let slowProxy: FaultProxy;
  let shamirProd: ScratchCluster;
  let shamirDrill: ScratchCluster;
  let worker: TestWorker;

  before(async () => {
    slowProxy = await startFaultProxy(stackEnv.VSNAP_DRILL_ADDR, {
      upstreamTls: stackUpstreamTls('drill'),
      delayPath: '/v1/sys/storage/raft/snapshot',
      delayMs: 20_000,
    });
    drillSlow = { ...stackDrill, name: 'drill-slow', address: slowProxy.address };
    // Both split 3 ways with threshold 2, so the target can take the source's keyring.
    const keyShares = { shares: 3, threshold: 2 };
    [shamirProd, shamirDrill] = await Promise.all([
      startScratchCluster({ basePort: 18500, keyShares }),
      startScratchCluster({ basePort: 18600, keyShares, size: 3 }),
    ]);
    const shamirCluster = (name: string, address: string, extra: Partial<ClusterConfig>): ClusterConfig => ({
      ...isolatedCluster(name),
      address,
      auth: { method: 'token', tokenEnv: `TEST_${name.toUpperCase()}_TOKEN` },
      keyShares: { source: 'env', name: `TEST_${name.toUpperCase()}_KEYS` },
      protected: false,
      ...extra,
    });
    worker = await startTestWorker({
      clusters: [
        prod,
        tamper,
        drill,
        drillProtected,
        drillNoDrill,
        drillNoKeys,
        drillSlow,
        shamirCluster('sprod', shamirProd.nodes[0].address, {}),
        // Configured with a standby's address, as a load balancer would hand one out.
        shamirCluster('sdrill', shamirDrill.nodes[1].address, { drillSource: 'sprod' }),
      ],
      env: {
        TEST_SPROD_TOKEN: shamirProd.rootToken,
        TEST_SDRILL_TOKEN: shamirDrill.rootToken,
        TEST_SPROD_KEYS: JSON.stringify({ keys: shamirProd.keys, threshold: 2 }),
        TEST_SDRILL_KEYS: JSON.stringify({ keys: shamirDrill.keys, threshold: 2 }),
      },
    });
    // The snapshots the tests restore.
    await (await start<typeof backup>(worker, 'backup', { cluster: 'prod' })).result();
    await (await start<typeof backup>(worker, 'backup', { cluster: 'sprod' })).result();
  });

  after(async () => {
    await worker?.stop();
    await slowProxy?.close();
    await shamirProd?.stop();
    await shamirDrill?.stop();
  });

  test('backup prod → verify into drill passes with the transit auto-unseal seal, and the verdict is recorded', async () => {
    const handle = await start<typeof verify>(worker, 'verify', { cluster: 'prod' });
    const report = await handle.result();
    assert.equal(report.passed, true, JSON.stringify(report.checks));
    assert.equal(report.target, 'drill');
    assert.equal(report.unsealedWithKeyShares, false, 'the key service unsealed drill on its own, without keys');
    for (const name of [
      'canary matches manifest',
      'canary age',
      'inventory matches backup',
      "prod's approle login",
      'storage entries per mount',
    ]) {
      assert.equal(checkNamed(report, name).status, 'pass', name);
    }
    assert.deepEqual(
      report.steps.map((s) => s.step),
      ['plan', 'regenerate-root', 'restore', 'unseal', 'regenerate-root', 'check', 'revoke'],
      'an unprotected target is read once: the restore stream itself is verified',
    );
    assert.equal(report.targetChanged, true);
    // The history reads like the procedure: each step is its own activity, with its own retries.
    assert.deepEqual(await activityTypes(handle), [
      'planRestore',
      'regenerateRoot',
      'restoreSnapshot',
      'unsealTarget',
      'regenerateRoot',
      'checkRestoredCluster',
      'revokeRootToken',
      'recordVerification',
    ]);
    const record = JSON.parse(
      (await objectBytes(verificationKeyFor(report.key))).toString('utf8'),
    ) as VerificationRecord;
    assert.equal(record.passed, true);
    assert.equal(record.workflowId, handle.workflowId);

    // Root tokens were regenerated and revoked; no generate-root attempt is left open.
    assert.equal(await generateRootStarted(), false);
    const history = JSON.stringify(await handle.fetchHistory());
    assert.deepEqual(findLeakedSecrets(history + worker.logs.join('\n')), []);
  });

  test('a verify into a 3-node Shamir cluster reached through a standby restores on the active node and unseals every node', async () => {
    const report = await (await start<typeof verify>(worker, 'verify', { cluster: 'sprod' })).result();
    assert.equal(report.passed, true, JSON.stringify(report.checks));
    assert.equal(report.target, 'sdrill');
    assert.equal(checkNamed(report, 'canary matches manifest').status, 'pass');
    assert.equal(checkNamed(report, 'inventory matches backup').status, 'pass');
    assert.equal(report.unsealedWithKeyShares, true, "the restored keyring is sprod's: its shares unsealed the nodes");
    for (const node of shamirDrill.nodes) {
      const health = await node.vault.health();
      assert.equal(health.sealed, false, `${node.address} is unsealed after the restore`);
    }
  });

  /** Restores a (damaged) prod-tamper snapshot into drill. */
  const restoreFromTamper = (key: string) =>
    start<typeof restore>(worker, 'restore', { target: 'drill', source: 'prod-tamper', force: true, snapshot: key });

  /** Backs up prod-tamper, damages the stored object, restores it into drill: the failure, drill unchanged. */
  async function restoreDamagedBackup(damage: (bytes: Buffer) => Buffer) {
    const { key } = await (await start<typeof backup>(worker, 'backup', { cluster: 'prod-tamper' })).result();
    await putBytes(key, damage(await objectBytes(key)));
    const marker = await markDrill();
    const handle = await restoreFromTamper(key);
    const failure = await failureOf(handle);
    await marker.assertUnchanged();
    // Read once: the restore step's own stream found the damage and held back the last batch,
    // failing at its first try; the root token it was handed is revoked.
    assert.deepEqual(await activityTypes(handle), [
      'planRestore',
      'regenerateRoot',
      'restoreSnapshot',
      'revokeRootToken',
    ]);
    assert.equal((await activityAttempts(handle)).restoreSnapshot, 1, 'not retried');
    assert.equal(await generateRootStarted(), false, 'no generate-root attempt is left open');
    assert.ok(
      [FailureType.ChecksumMismatch, FailureType.ArchiveInvalid].includes(failure.type as 'ChecksumMismatch'),
      failure.type ?? '',
    );
    assert.equal(failure.nonRetryable, true);
    return failure;
  }

  test('a bit-flipped object is refused and the drill cluster is unchanged', async () => {
    await restoreDamagedBackup((bytes) => {
      bytes[Math.floor(bytes.length / 2)] ^= 0x01;
      return bytes;
    });
  });

  test('a truncated object is refused and the drill cluster is unchanged', async () => {
    const failure = await restoreDamagedBackup((bytes) => bytes.subarray(0, bytes.length - 200));
    assert.match(failure.message, /truncated|bytes/);
  });

  test('a canary older than maxAgeDays fails verify, naming the canary age check', async () => {
    const failure = await failureOf(
      await start<typeof verify>(worker, 'verify', { cluster: 'prod', maxAgeDays: 0.000001 }),
    );
    assert.equal(failure.type, FailureType.CheckFailed);
    assert.match(failure.message, /check "canary age" failed/);
    assert.doesNotMatch(failure.message, /canary matches manifest/);
  });

  test('a canary that does not match the manifest fails verify, naming that check', async () => {
    const { key } = await (await start<typeof backup>(worker, 'backup', { cluster: 'prod-tamper' })).result();
    const manifest = JSON.parse((await objectBytes(manifestKeyFor(key))).toString('utf8')) as SnapshotManifest;
    manifest.canary.value -= 3600;
    await putBytes(manifestKeyFor(key), JSON.stringify(manifest));
    const failure = await failureOf(await restoreFromTamper(key));
    assert.equal(failure.type, FailureType.CheckFailed);
    assert.match(failure.message, /check "canary matches manifest" failed/);
  });

  test('cancelling during the restore revokes its tokens, cancels generate-root, and leaves drill as it was', async () => {
    const marker = await markDrill();
    const tokensBefore = new Set(await drillTokenAccessors());
    const handle = await start<typeof restore>(worker, 'restore', { target: 'drill-slow' });
    await waitForProgress<RestoreProgress>(handle, (p) => p.step === 'restore');
    await until('the snapshot POST is held by the proxy', () => Promise.resolve(slowProxy.delayedRequests === 1));
    await handle.cancel();
    const err = await handle.result().then(
      () => assert.fail('the restore should have been cancelled'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure, String(err));

    // The activity cleans up as its cancellation reaches it, which may be just after the run reports.
    const leaked = async () => (await drillTokenAccessors()).filter((a) => !tokensBefore.has(a));
    await until('the cancelled run cleaned up on drill', async () => (await leaked()).length === 0, 30_000);
    assert.deepEqual(await leaked(), [], 'every token the cancelled run created on drill was revoked');
    assert.equal(await generateRootStarted(), false, 'no generate-root attempt left open');
    // When the proxy's hold ends, it must find the request abandoned and forward nothing to drill.
    await until('the held POST is abandoned', () => Promise.resolve(slowProxy.abandonedRequests === 1), 120_000);
    assert.equal(slowProxy.delayedRequests, 1, 'the one snapshot POST was held, never forwarded');
    await marker.assertUnchanged();
  });

  test('a protected target without approval times out and changes nothing; with approval it restores', async () => {
    const marker = await markDrill();
    const failure = await failureOf(
      await start<typeof restore>(worker, 'restore', { target: 'drill-protected', approvalTimeoutMinutes: 0.05 }),
    );
    assert.equal(failure.type, FailureType.ApprovalTimeout);
    assert.match(failure.message, /nothing was changed/);
    await marker.assertUnchanged();

    const handle = await start<typeof restore>(worker, 'restore', { target: 'drill-protected' });
    await waitForProgress<RestoreProgress>(handle, (p) => p.step === 'awaiting-approval');
    await handle.executeUpdate('approve', { args: [{ approver: 'alice' }] });
    const report = await handle.result();
    assert.equal(report.approvedBy, 'alice');
    assert.equal(report.passed, true);
    // A restore does not take the second whole snapshot the storage recount needs; drills do.
    assert.equal(checkNamed(report, 'storage entries per mount').status, 'skipped');
  });

  test('bad input fails before any side effect, each with a message that names the fix', async () => {
    const marker = await markDrill();
    const cases: [unknown, string, RegExp][] = [
      [{ target: 'nope' }, FailureType.UnknownCluster, /unknown cluster "nope"/],
      [
        { target: 'drill', snapshot: `${prod.storage.prefix}/2020-01-01T00-00-00.000Z.snap` },
        FailureType.SnapshotNotFound,
        /no manifest/,
      ],
      [{ target: 'drill', snapshot: 'not-a-key' }, FailureType.InvalidInput, /"snapshot" must be/],
      [
        { target: 'drill', snapshot: 'elsewhere/2020-01-01T00-00-00.000Z.snap' },
        FailureType.InvalidInput,
        /not a snapshot key of prod/,
      ],
      [{ target: 'drill-nodrill', source: 'prod' }, FailureType.InvalidInput, /"force": true/],
      [{ target: 'drill-nokeys' }, FailureType.KeySharesUnavailable, /keyShares/],
      [{}, FailureType.InvalidInput, /"target" is required/],
    ];
    for (const [input, type, message] of cases) {
      const failure = await failureOf(await start<typeof restore>(worker, 'restore', input as never));
      assert.equal(failure.type, type, JSON.stringify(input));
      assert.match(failure.message, message);
    }
    await marker.assertUnchanged();
  });

  test('a dry run fetches and validates only', async () => {
    const marker = await markDrill();
    const report = await (await start<typeof restore>(worker, 'restore', { target: 'drill', dryRun: true })).result();
    assert.equal(report.dryRun, true);
    assert.deepEqual(
      report.steps.map((s) => s.step),
      ['plan', 'fetch'],
    );
    await marker.assertUnchanged();
  });
});
