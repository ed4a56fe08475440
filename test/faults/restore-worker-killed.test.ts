// The worker is SIGKILLed at the worst moment of a restore: right after Vault accepted the
// snapshot, before the worker heard so. The target (Shamir, on another keyring than the
// snapshot's) then seals itself, with nobody left to unseal it. The retried step must see that
// the target took the snapshot, not send it again and not wait on a sealed Vault for a root
// token; the run completes with the target unsealed with the source's keys and checked.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connectTemporal, type VsnapClient } from '../../client/connection';
import type { ClusterConfig } from '../../worker/config';
import type { backup } from '../../workflows/backup';
import type { verify } from '../../workflows/verify';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy';
import { activityAttempts } from '../helpers/runs';
import { startScratchCluster, type ScratchCluster } from '../helpers/scratch-bao';
import { isolatedCluster } from '../helpers/stack';
import {
  startWorkerProcess,
  until,
  type WorkerProcess,
  workerStarted,
  writeWorkflowBundle,
} from '../helpers/worker-process';

describe('a worker killed right after Vault accepted a restore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsnap-kill-restore-'));
  const workers: WorkerProcess[] = [];
  let source: ScratchCluster;
  let target: ScratchCluster;
  let proxy: FaultProxy;
  let temporal: VsnapClient | undefined;
  let killOnAccept: WorkerProcess | undefined;

  before(async () => {
    // Both split 3 ways with threshold 2, so the target can take the source's keyring.
    const keyShares = { shares: 3, threshold: 2 };
    [source, target] = await Promise.all([
      startScratchCluster({ basePort: 19600, keyShares }),
      startScratchCluster({ basePort: 19620, keyShares }),
    ]);
    proxy = await startFaultProxy(target.nodes[0].address, {
      onResponse: ({ method, url }, status) => {
        if (method === 'POST' && url.startsWith('/v1/sys/storage/raft/snapshot') && status < 300 && killOnAccept) {
          killOnAccept.child.kill('SIGKILL');
          killOnAccept = undefined;
        }
      },
    });
  });

  after(async () => {
    workers.forEach((w) => w.child.kill('SIGKILL'));
    await temporal?.close().catch(() => undefined);
    await proxy?.close();
    await source?.stop();
    await target?.stop();
  });

  test('the retried run finds the target sealed on the new keyring, unseals it and checks it', async () => {
    const cluster = (name: string, address: string, extra: Partial<ClusterConfig>): ClusterConfig => ({
      ...isolatedCluster(name),
      address,
      allowInsecureHttp: true,
      auth: { method: 'token', tokenEnv: `TEST_${name.toUpperCase()}_TOKEN` },
      keyShares: { source: 'env', name: `TEST_${name.toUpperCase()}_KEYS` },
      protected: false,
      ...extra,
    });
    const configFile = join(dir, 'config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        clusters: [
          cluster('kprod', source.nodes[0].address, {}),
          cluster('kdrill', proxy.address, { drillSource: 'kprod' }),
        ],
      }),
    );
    const taskQueue = `kill-restore-${randomUUID()}`;
    const env = {
      VSNAP_TASK_QUEUE: taskQueue,
      VSNAP_CONFIG: configFile,
      VSNAP_WORKFLOW_BUNDLE: await writeWorkflowBundle(dir),
      TEST_KPROD_TOKEN: source.rootToken,
      TEST_KDRILL_TOKEN: target.rootToken,
      TEST_KPROD_KEYS: JSON.stringify({ keys: source.keys, threshold: 2 }),
      TEST_KDRILL_KEYS: JSON.stringify({ keys: target.keys, threshold: 2 }),
    };
    const first = startWorkerProcess(env);
    workers.push(first);
    await workerStarted(first);
    temporal = await connectTemporal({ taskQueue });
    const run = <T>(type: string, input: unknown) =>
      temporal!.client.workflow.start<(i: unknown) => Promise<T>>(type, {
        taskQueue,
        workflowId: `${type}-${randomUUID()}`,
        args: [input],
      });
    await (await run<Awaited<ReturnType<typeof backup>>>('backup', { cluster: 'kprod' })).result();

    killOnAccept = first;
    const handle = await run<Awaited<ReturnType<typeof verify>>>('verify', { cluster: 'kprod' });
    await first.exited;
    assert.equal(killOnAccept, undefined, 'the worker was killed as Vault accepted the snapshot');
    // Vault installs the snapshot after answering, then seals itself (another keyring).
    await until(
      'the target sealed itself, with no worker to unseal it',
      async () => (await target.nodes[0].vault.health()).sealed,
    );

    const second = startWorkerProcess(env);
    workers.push(second);
    // The restore step is retried once its 30 s heartbeat timeout expires, on the second worker.
    const report = await handle.result();
    assert.equal(report.passed, true, JSON.stringify(report.checks));
    assert.equal(report.unsealedWithKeyShares, true, "vsnap unsealed the target with the source's shares");
    assert.equal(report.targetChanged, true);
    const attempts = await activityAttempts(handle);
    assert.equal(attempts.restoreSnapshot, 2, `the restore step was retried once: ${JSON.stringify(attempts)}`);
    const health = await target.nodes[0].vault.health();
    assert.equal(health.sealed, false, 'the target is unsealed');
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
  });
});
