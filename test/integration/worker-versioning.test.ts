// Upgrades that never break a run in flight, on the real stack: a restore into a protected
// target waits for approval on worker version A; version B (a release whose restore marks its
// report) becomes current while A keeps running; after approval the run finishes on A's code,
// and the next run goes to B. Both workers are processes started as the image starts them, with
// the build id in their environment, on a task queue and a Worker Deployment of this run's own.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { decodeVersioningBehavior } from '@temporalio/common';
import { connectTemporal, type VsnapClient } from '../../client/connection';
import type { ClusterConfig } from '../../worker/config';
import { setCurrentVersion } from '../../worker/versioning';
import type { RestoreProgress } from '../../workflows/restore-steps';
import type { RestoreReport } from '../../workflows/restore-types';
import { NEXT_RELEASE } from '../fixtures/next-release/workflows';
import { uniqueId, waitForProgress } from '../helpers/runs';
import { startScratchCluster, type ScratchCluster } from '../helpers/scratch-bao';
import { isolatedCluster, repoRoot } from '../helpers/stack';
import {
  startWorkerProcess,
  until,
  type WorkerProcess,
  workerStarted,
  writeWorkflowBundle,
} from '../helpers/worker-process';

const temporalCli = join(repoRoot, '.tools', 'venv', 'bin', 'temporal');
const run = promisify(execFile);

type Report = RestoreReport & { finishedBy?: string };

/** Which version a run is on and how it is held there, as the server records it. */
async function versioningOf(handle: WorkflowHandle): Promise<{ buildId?: string; behavior?: string }> {
  const info = (await handle.describe()).raw.workflowExecutionInfo?.versioningInfo;
  return {
    ...(info?.deploymentVersion?.buildId ? { buildId: info.deploymentVersion.buildId } : {}),
    ...(info?.behavior ? { behavior: decodeVersioningBehavior(info.behavior) } : {}),
  };
}

/**
 * The build id of every worker that completed a workflow task of the run, and how many tasks
 * completed after the run accepted its approval.
 */
async function workflowTaskBuildIds(handle: WorkflowHandle): Promise<{ buildIds: string[]; afterApproval: number }> {
  const events = (await handle.fetchHistory()).events ?? [];
  const approvedAt = events.findIndex((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
  const completed = events
    .map((e, i) => ({ i, attributes: e.workflowTaskCompletedEventAttributes }))
    .filter((e) => e.attributes);
  return {
    buildIds: completed.map((e) => e.attributes?.deploymentVersion?.buildId ?? '(unversioned)'),
    afterApproval: approvedAt < 0 ? 0 : completed.filter((e) => e.i > approvedAt).length,
  };
}

describe('worker versioning: an upgrade never moves a run in flight', () => {
  const deploymentName = `vsnap-test-${Date.now().toString(36)}`;
  const taskQueue = uniqueId('versioning');
  const versionA = { deploymentName, buildId: 'release-a' };
  const versionB = { deploymentName, buildId: 'release-b' };
  const workers: WorkerProcess[] = [];
  let source: ScratchCluster;
  let target: ScratchCluster;
  let workerEnv: NodeJS.ProcessEnv;
  let bundleA: string;
  let bundleB: string;
  let temporal: VsnapClient;

  const startVersion = async (buildId: string, bundle: string): Promise<WorkerProcess> => {
    const worker = startWorkerProcess({
      ...workerEnv,
      VSNAP_DEPLOYMENT_NAME: deploymentName,
      VSNAP_BUILD_ID: buildId,
      VSNAP_WORKFLOW_BUNDLE: bundle,
    });
    workers.push(worker);
    await workerStarted(worker);
    return worker;
  };
  // The rollout Job's code: it waits until the version's workers poll, then makes it current.
  const makeCurrent = (version: typeof versionA) =>
    setCurrentVersion(temporal.client.workflowService, {
      namespace: temporal.client.options.namespace,
      version,
      timeoutMs: 60_000,
    });
  const startRestore = (input: { target: string; dryRun?: boolean }) =>
    temporal.client.workflow.start('restore', { taskQueue, workflowId: uniqueId('restore'), args: [input] });

  before(async () => {
    // A Shamir pair of scratch clusters split alike, so the target can take the source's keyring.
    const keyShares = { shares: 3, threshold: 2 };
    [source, target] = await Promise.all([
      startScratchCluster({ basePort: 19400, keyShares }),
      startScratchCluster({ basePort: 19420, keyShares }),
    ]);
    const scratch = (name: string, cluster: ScratchCluster, extra: Partial<ClusterConfig>): ClusterConfig => {
      const config: ClusterConfig = {
        ...isolatedCluster(name),
        address: cluster.nodes[0].address,
        allowInsecureHttp: true,
        auth: { method: 'token', tokenEnv: `TEST_${name.toUpperCase()}_TOKEN` },
        keyShares: { source: 'env', name: `TEST_${name.toUpperCase()}_KEYS` },
        protected: false,
        ...extra,
      };
      delete config.caCertFile;
      delete config.tlsServerName;
      return config;
    };
    const dir = mkdtempSync(join(tmpdir(), 'vsnap-versioning-'));
    const configFile = join(dir, 'config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        clusters: [scratch('vsrc', source, {}), scratch('vtarget', target, { drillSource: 'vsrc', protected: true })],
      }),
    );
    workerEnv = {
      VSNAP_CONFIG: configFile,
      VSNAP_TASK_QUEUE: taskQueue,
      TEST_VSRC_TOKEN: source.rootToken,
      TEST_VTARGET_TOKEN: target.rootToken,
      TEST_VSRC_KEYS: JSON.stringify({ keys: source.keys, threshold: 2 }),
      TEST_VTARGET_KEYS: JSON.stringify({ keys: target.keys, threshold: 2 }),
    };
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    [bundleA, bundleB] = await Promise.all([
      writeWorkflowBundle(join(dir, 'a')),
      writeWorkflowBundle(join(dir, 'b'), require.resolve('../fixtures/next-release/workflows')),
    ]);
    temporal = await connectTemporal({ taskQueue });
  });

  after(async () => {
    for (const worker of workers) {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
    await temporal?.close();
    await source?.stop();
    await target?.stop();
  });

  // The steps below run in order, each on the state the one before left.
  let restore: WorkflowHandle;

  test('with A current, a restore into the protected target waits for approval, pinned to A', async () => {
    await startVersion(versionA.buildId, bundleA);
    assert.equal(await makeCurrent(versionA), undefined, 'A is the first version of this deployment');
    const backup = await temporal.client.workflow.start('backup', {
      taskQueue,
      workflowId: uniqueId('backup'),
      args: [{ cluster: 'vsrc' }],
    });
    await backup.result();
    restore = await startRestore({ target: 'vtarget' });
    await waitForProgress<RestoreProgress>(restore, (p) => p.step === 'awaiting-approval', 120_000);
    assert.deepEqual(await versioningOf(restore), { buildId: versionA.buildId, behavior: 'PINNED' });
  });

  test("B's workers start and B becomes current; A's keep running, draining", async () => {
    await startVersion(versionB.buildId, bundleB);
    assert.equal(await makeCurrent(versionB), versionA.buildId, 'B replaced A as current');
    const described = await describeVersion(deploymentName, versionA.buildId);
    assert.match(described, /DrainageStatus\s+draining/, `A drains once B is current:\n${described}`);
    assert.equal(workers[0].child.exitCode, null, "A's worker is still running");
  });

  test("approved after the upgrade, the run finishes on A's code", async () => {
    await restore.executeUpdate('approve', { args: [{ approver: 'alice' }] });
    const outcome = await restore.result().then(
      (report: Report) => ({ report }),
      (error: unknown) => ({ error }),
    );
    // Whatever the restore's own outcome, every workflow task ran on A, after the approval too.
    const tasks = await workflowTaskBuildIds(restore);
    assert.ok(tasks.afterApproval > 0, 'the run went on after the approval');
    assert.deepEqual([...new Set(tasks.buildIds)], [versionA.buildId], 'every workflow task of the run ran on A');
    assert.deepEqual(await versioningOf(restore), { buildId: versionA.buildId, behavior: 'PINNED' });
    if ('error' in outcome) throw outcome.error;
    assert.equal(outcome.report.approvedBy, 'alice');
    assert.equal(outcome.report.finishedBy, undefined, "the pinned run finished on A's code, not on B's");
    assert.equal(outcome.report.passed, true, JSON.stringify(outcome.report.checks));
  });

  test('a run started after the upgrade runs on B', async () => {
    const next = await startRestore({ target: 'vtarget', dryRun: true });
    const report = (await next.result()) as Report;
    assert.equal(report.finishedBy, NEXT_RELEASE, "the new run ran B's code");
    assert.deepEqual(await versioningOf(next), { buildId: versionB.buildId, behavior: 'PINNED' });
  });
});

/** The CLI's view of a version (what an operator checks before deleting a draining version's pods). */
async function describeVersion(deploymentName: string, buildId: string): Promise<string> {
  let text = '';
  await until('describe-version answers', async () => {
    const { stdout } = await run(temporalCli, [
      'worker',
      'deployment',
      'describe-version',
      '--deployment-name',
      deploymentName,
      '--build-id',
      buildId,
    ]);
    text = stdout;
    return true;
  });
  return text;
}
