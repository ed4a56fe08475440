// The worker as a process, as Kubernetes runs it: config errors all at once, /readyz, the
// Prometheus endpoint with vsnap's metrics after a backup, and SIGTERM ending in exit 0.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { backup } from '../../workflows/backup';
import { connectTemporal } from '../../client/connection';
import { repoRoot, stackEnv } from '../helpers/stack';

function startWorkerProcess(env: NodeJS.ProcessEnv): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'worker', 'main.ts')], {
    cwd: repoRoot,
    env: { ...process.env, ...stackEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  return { child, output: () => output, exited };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not happen within ${timeoutMs / 1000}s`);
}

describe('the worker process', () => {
  const running: ChildProcess[] = [];
  after(() => running.forEach((c) => c.kill('SIGKILL')));

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
    });
    running.push(w.child);
    await until('/readyz 200', async () => (await fetch('http://127.0.0.1:18081/readyz')).status === 200);

    const temporal = await connectTemporal({ taskQueue });
    const result = await (
      await temporal.client.workflow.start<typeof backup>('backup', {
        taskQueue,
        workflowId: `process-backup-${randomUUID()}`,
        args: [{ cluster: 'prod' }],
      })
    ).result();
    await temporal.close();

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
});
