// Runs started outside vsnap (the Temporal UI, `temporal workflow start`) carry the search
// attributes the UI filters on, because the workflows label themselves. Started here with the
// real Temporal CLI binary, plain JSON input (the worker's codec passes unencrypted payloads
// through) and no --search-attribute.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { describeFailure } from '../../workflows/failure-chain';
import { VsnapCluster, VsnapKind } from '../../workflows/search-attributes';
import { sharedFixture, uniqueId } from '../helpers/runs';
import { repoRoot, stackConfig, stackEnv, startTestWorker, type TestWorker } from '../helpers/stack';

const temporalBin = join(repoRoot, '.tools', 'venv', 'bin', 'temporal');
const LABEL_WAIT_MS = 60_000;

/** `temporal workflow start` as an operator types it; resolves once the server accepted the run. */
function temporalWorkflowStart(args: { type: string; taskQueue: string; workflowId: string; input: string }) {
  return new Promise<void>((resolve, reject) => {
    execFile(
      temporalBin,
      [
        'workflow',
        'start',
        '--address',
        stackEnv.TEMPORAL_ADDRESS,
        '--namespace',
        stackEnv.TEMPORAL_NAMESPACE || 'default',
        '--type',
        args.type,
        '--task-queue',
        args.taskQueue,
        '--workflow-id',
        args.workflowId,
        '--input',
        args.input,
      ],
      { timeout: 30_000 },
      (err, _stdout, stderr) => (err ? reject(new Error(`temporal workflow start failed: ${stderr}`)) : resolve()),
    );
  });
}

interface Labels {
  kind?: string;
  cluster?: string;
}

async function labelsOf(handle: WorkflowHandle): Promise<Labels & { status: string }> {
  const d = await handle.describe();
  return {
    kind: d.typedSearchAttributes.get(VsnapKind),
    cluster: d.typedSearchAttributes.get(VsnapCluster),
    status: d.status.name,
  };
}

/** How a closed run ended, for an assertion message. */
function outcome(handle: WorkflowHandle): Promise<string> {
  return handle.result().then(
    () => 'completed',
    (err: unknown) => describeFailure(err),
  );
}

/** Polls describe until the run carries both labels, for at most LABEL_WAIT_MS. */
async function waitForLabels(handle: WorkflowHandle): Promise<Labels> {
  const deadline = Date.now() + LABEL_WAIT_MS;
  let last = await labelsOf(handle);
  while (!(last.kind && last.cluster) && last.status === 'RUNNING' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    last = await labelsOf(handle);
  }
  assert.ok(
    last.kind !== undefined && last.cluster !== undefined,
    `${handle.workflowId} lacks a label (within ${LABEL_WAIT_MS / 1000}s, or before it ended): ${JSON.stringify(last)}` +
      (last.status === 'RUNNING' ? '' : `; it ended: ${await outcome(handle)}`),
  );
  return { kind: last.kind, cluster: last.cluster };
}

describe('runs started with `temporal workflow start` label themselves (VsnapKind, VsnapCluster)', () => {
  let worker: TestWorker;
  let verify: WorkflowHandle | undefined;
  /** One backup with no input (the default cluster, prod), started by whichever test needs it first. */
  const backupOfDefault = sharedFixture(async () => {
    const workflowId = uniqueId('backup-labels');
    await temporalWorkflowStart({ type: 'backup', taskQueue: worker.taskQueue, workflowId, input: '{}' });
    return worker.temporal.client.workflow.getHandle(workflowId);
  });
  /** One verify of that backup, started by whichever test runs first; it waits at the approval step. */
  const verifyOfProd = sharedFixture(async () => {
    await (await backupOfDefault()).result();
    const workflowId = uniqueId('verify-labels');
    await temporalWorkflowStart({
      type: 'verify',
      taskQueue: worker.taskQueue,
      workflowId,
      input: '{"cluster":"prod"}',
    });
    verify = worker.temporal.client.workflow.getHandle(workflowId);
    return verify;
  });

  before(async () => {
    const { clusters } = stackConfig();
    const prod = clusters.find((c) => c.name === 'prod')!;
    const drill = clusters.find((c) => c.name === 'drill')!;
    // drill protected in this worker's config: the verify stops at the approval step after plan
    // and fetch, so the test never writes to the shared drill cluster.
    worker = await startTestWorker({ clusters: [prod, { ...drill, protected: true }] });
  });

  after(async () => {
    if (verify) {
      await verify.cancel().catch(() => undefined);
      await verify.result().catch(() => undefined);
    }
    await worker?.stop();
  });

  test('a backup started with input {} is labelled backup / prod (the default cluster, known after plan)', async () => {
    const handle = await backupOfDefault();

    assert.deepEqual(await waitForLabels(handle), { kind: 'backup', cluster: 'prod' });
    // The labels stay on the closed run, whatever its outcome (this test is about labels).
    await handle.result().catch(() => undefined);
    const closed = await labelsOf(handle);
    assert.deepEqual({ kind: closed.kind, cluster: closed.cluster }, { kind: 'backup', cluster: 'prod' });
    assert.notEqual(closed.status, 'RUNNING');
  });

  test('a verify started with {"cluster":"prod"} is labelled verify and with a cluster, within 60s', async () => {
    const labels = await waitForLabels(await verifyOfProd());
    assert.equal(labels.kind, 'verify');
    assert.ok(['prod', 'drill'].includes(labels.cluster!), `VsnapCluster ${labels.cluster}`);
  });

  test('that verify is labelled with prod, the drilled cluster, as vsnap verify, schedules and the README label drills', async () => {
    const labels = await waitForLabels(await verifyOfProd());
    assert.equal(
      labels.cluster,
      'prod',
      'VsnapCluster of a drill of prod must be "prod" (README: VsnapKind = "verify" AND VsnapCluster = "prod")',
    );
  });
});
