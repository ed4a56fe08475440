// Fault 3: the Temporal server restarts in the middle of a run (same SQLite database, as a
// server process restart or a rolling upgrade would). Workflow state is in the database; the
// worker and the client reconnect; the run must resume and complete, with one run id.
// This test stops the stack's Temporal: run it last, alone (npm run test:faults does).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { backup } from '../../workflows/backup';
import { ensureTemporal, temporalProcess } from '../../scripts/stack/services';
import { stopProcess } from '../../scripts/stack/processes';
import { assertValidSnapshot } from '../helpers/bucket';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy';
import { start, waitForProgress } from '../helpers/runs';
import { isolatedCluster, startTestWorker, type TestWorker, stackUpstreamTls, activeProdNode } from '../helpers/stack';
import { until } from '../helpers/worker-process';

describe('the Temporal server restarted mid-run', () => {
  let slowVault: FaultProxy;
  let worker: TestWorker;

  before(async () => {
    // The snapshot stops after 16 KiB until released, so Temporal restarts mid-stream whatever prod's size.
    slowVault = await startFaultProxy(await activeProdNode(), {
      holdSnapshotAfterBytes: 16 * 1024,
      upstreamTls: stackUpstreamTls('prod'),
    });
    worker = await startTestWorker({ clusters: [{ ...isolatedCluster('prod-restart'), address: slowVault.address }] });
  });
  after(async () => {
    await ensureTemporal(); // whatever happened, leave the stack up
    slowVault?.releaseSnapshots(); // a test that failed half-way must not leave an activity held
    await worker?.stop();
    await slowVault?.close();
  });

  test('the backup resumes and completes, in the same run', async () => {
    const handle = await start<typeof backup>(worker, 'backup', { cluster: 'prod-restart' });
    await waitForProgress<{ step: string }>(handle, (p) => p.step === 'snapshot');
    await until('the stream is held mid-snapshot', () => Promise.resolve(slowVault.snapshotBytesSent >= 16 * 1024));
    const stopped = await stopProcess(temporalProcess);
    assert.equal(stopped, true, 'the stack Temporal was running and is now stopped');
    await ensureTemporal();
    // The activity finishes now, so its completion goes to the restarted server.
    slowVault.releaseSnapshots();
    const result = await handle.result();
    await assertValidSnapshot(result.key, result.sha256);
    const description = await handle.describe();
    assert.equal(description.status.name, 'COMPLETED');
    assert.equal(description.runId, handle.firstExecutionRunId, 'the run resumed; it was not restarted');
  });
});
