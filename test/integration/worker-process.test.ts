// The worker as a process, as Kubernetes runs it: config errors all at once, /readyz, the
// Prometheus endpoint with vsnap's metrics after a backup, SIGTERM ending in exit 0, and a
// SIGTERM in the middle of an upload that a second worker then completes.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, before, describe, test } from 'node:test';
import type { backup } from '../../workflows/backup';
import { connectTemporal, type VsnapClient } from '../../client/connection';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy';
import { waitForProgress } from '../helpers/runs';
import { openUploads } from '../helpers/bucket';
import { isolatedCluster, stackConfig, stackUpstreamTls, activeProdNode } from '../helpers/stack';
import { startWorkerProcess, until, writeWorkflowBundle } from '../helpers/worker-process';

describe('the worker process', () => {
  const running: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'vsnap-worker-process-'));
  let bundlePath = '';
  let slowVault: FaultProxy;

  before(async () => {
    // As the image does: workflows bundled once, ahead of time, with the failure converter.
    bundlePath = await writeWorkflowBundle(dir);
    // The snapshot stops after 16 KiB until released: mid-upload whatever prod's size.
    slowVault = await startFaultProxy(await activeProdNode(), {
      holdSnapshotAfterBytes: 16 * 1024,
      upstreamTls: stackUpstreamTls('prod'),
    });
  });
  // Closed even when a test fails half-way: an open connection or a held stream would keep this
  // file's process alive, and the suite would hang instead of reporting the failure.
  const clients: VsnapClient[] = [];
  const connect = async (taskQueue: string) => {
    const client = await connectTemporal({ taskQueue });
    clients.push(client);
    return client;
  };
  after(async () => {
    running.forEach((c) => c.kill('SIGKILL'));
    slowVault?.releaseSnapshots();
    await slowVault?.close();
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  });

  test('a config with several errors reports all of them and exits 2', async () => {
    const w = startWorkerProcess({
      VSNAP_CONFIG: '',
      VAULT_ADDR: '',
      BUCKET_NAME: '',
      LOG_LEVEL: 'loud',
      VSNAP_PART_SIZE_MIB: '1',
      VSNAP_METRICS_ADDRESS: 'nowhere',
    });
    assert.equal(await w.exited, 2);
    for (const problem of [
      /VAULT_ADDR/,
      /BUCKET_NAME/,
      /LOG_LEVEL=loud/,
      /VSNAP_PART_SIZE_MIB must be >= 5/,
      /VSNAP_METRICS_ADDRESS=nowhere/,
    ]) {
      assert.match(w.output(), problem);
    }
  });

  test('readyz turns ready, a backup shows in the metrics, SIGTERM exits 0 within the grace time', async () => {
    const taskQueue = `process-${randomUUID()}`;
    const w = startWorkerProcess({
      VSNAP_TASK_QUEUE: taskQueue,
      VSNAP_METRICS_ADDRESS: '127.0.0.1:19465',
      VSNAP_HEALTH_ADDRESS: '127.0.0.1:18081',
      VSNAP_SHUTDOWN_GRACE_SECONDS: '5',
      VSNAP_WORKFLOW_BUNDLE: bundlePath,
    });
    running.push(w.child);
    await until('/readyz 200', async () => (await fetch('http://127.0.0.1:18081/readyz')).status === 200);

    const temporal = await connect(taskQueue);
    const result = await (
      await temporal.client.workflow.start<typeof backup>('backup', {
        taskQueue,
        workflowId: `process-backup-${randomUUID()}`,
        args: [{ cluster: 'prod' }],
      })
    ).result();

    const metrics = await (await fetch('http://127.0.0.1:19465/metrics')).text();
    assert.match(metrics, new RegExp(`vsnap_snapshot_size_bytes\\{cluster="prod"\\} ${result.size}\\b`));
    const last = /vsnap_last_success_timestamp_seconds\{cluster="prod",kind="backup"\} (\d+)/.exec(metrics);
    assert.ok(last, metrics.slice(0, 2000));
    assert.ok(Math.abs(Number(last[1]) - Date.now() / 1000) < 120, 'last success is now');
    assert.match(metrics, /vsnap_step_duration_seconds_count\{step="streamSnapshotToS3"\} 1\b/);
    assert.match(metrics, /temporal_/, 'the SDK metrics are on the same endpoint');

    const began = Date.now();
    w.child.kill('SIGTERM');
    assert.equal(await w.exited, 0, w.output().slice(-2000));
    assert.ok(Date.now() - began < 5_000 + 10_000, 'exited within the grace time');
    assert.match(w.output(), /vsnap worker stopped/);
  });

  test('SIGTERM mid-upload: the worker exits 0 within its grace time, aborts the upload, a second worker completes the backup', async () => {
    // The fault proxy speaks plain HTTP on loopback (to prod's node over TLS).
    const slow = { ...isolatedCluster('prod-slow'), address: slowVault.address, allowInsecureHttp: true };
    const configFile = join(dir, 'slow-config.json');
    writeFileSync(configFile, JSON.stringify({ clusters: [...stackConfig().clusters, slow] }));
    const taskQueue = `process-${randomUUID()}`;
    const env = {
      VSNAP_TASK_QUEUE: taskQueue,
      VSNAP_CONFIG: configFile,
      VSNAP_SHUTDOWN_GRACE_SECONDS: '2',
      VSNAP_WORKFLOW_BUNDLE: bundlePath,
    };
    const first = startWorkerProcess(env);
    running.push(first.child);
    await until('the first worker started', () => Promise.resolve(first.output().includes('vsnap worker started')));

    const temporal = await connect(taskQueue);
    const handle = await temporal.client.workflow.start<typeof backup>('backup', {
      taskQueue,
      workflowId: `process-slow-backup-${randomUUID()}`,
      args: [{ cluster: 'prod-slow' }],
    });
    await waitForProgress<{ step: string }>(handle, (p) => p.step === 'snapshot');
    await until('the upload is open and the stream is held', async () => {
      return slowVault.snapshotBytesSent >= 16 * 1024 && (await openUploads(slow.storage.prefix)).length === 1;
    });
    const began = Date.now();
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0, first.output().slice(-2000));
    // Generous: the grace time (2 s) plus process teardown, many times what it takes here.
    assert.ok(Date.now() - began < 2_000 + 20_000, `exited in ${Date.now() - began} ms, grace is 2 s`);
    assert.deepEqual(await openUploads(slow.storage.prefix), [], 'the stopping worker aborted its upload');

    slowVault.releaseSnapshots();
    const second = startWorkerProcess(env);
    running.push(second.child);
    const result = await handle.result();
    assert.ok(result.key.startsWith(`${slow.storage.prefix}/`));
    assert.deepEqual(await openUploads(slow.storage.prefix), [], 'no upload left open');
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
  });
});
