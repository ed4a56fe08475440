// The worker is SIGKILLed in the middle of an ephemeral drill: its throwaway `bao server`, a
// child it never got to stop, lives on (holding prod's restored data once the restore ran),
// and its directory stays in the dataDir. The activity is retried on a second worker after its
// heartbeat timeout; that worker removes what the dead one left (its owner.json names a dead
// worker), kills the orphaned server, and runs the drill afresh on a server of its own, which
// it wipes too. The drill passes and the dataDir ends empty.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { VaultHttp } from '../../activities/vault/vault-http';
import { connectTemporal, type VsnapClient } from '../../client/connection';
import type { BackupResult } from '../../workflows/backup';
import type { RestoreReport } from '../../workflows/restore-types';
import {
  drillDirs,
  isRunning,
  readOwner,
  serverAddress,
  serverProcessesUnder,
  stackProdEntry,
} from '../helpers/ephemeral';
import { activityAttempts } from '../helpers/runs';
import {
  startWorkerProcess,
  until,
  type WorkerProcess,
  workerStarted,
  writeWorkflowBundle,
} from '../helpers/worker-process';

describe('a worker killed in the middle of an ephemeral drill', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsnap-kill-ephemeral-'));
  const dataDir = join(dir, 'drills');
  const workers: WorkerProcess[] = [];
  let temporal: VsnapClient | undefined;
  let orphanPid: number | undefined;
  let drill: WorkflowHandle<() => Promise<RestoreReport>> | undefined;

  after(async () => {
    workers.forEach((w) => w.child.kill('SIGKILL'));
    // A run this test gave up on would wait hours for a worker on its queue.
    await drill?.terminate('the test is over').catch(() => undefined);
    await temporal?.close().catch(() => undefined);
    // Whatever happened, no server of this test outlives it.
    for (const pid of [...serverProcessesUnder(dataDir), ...(orphanPid ? [orphanPid] : [])]) {
      if (isRunning(pid)) process.kill(pid, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test("the retry on another worker kills the dead worker's server, drills afresh and leaves nothing", async () => {
    mkdirSync(dataDir);
    const prod = stackProdEntry();
    const storage = { ...(prod.storage as Record<string, unknown>), prefix: `test/${randomUUID().slice(0, 8)}/prod` };
    const configFile = join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify({ clusters: [stackProdEntry({ storage }, { dataDir })] }));
    const taskQueue = `kill-ephemeral-${randomUUID()}`;
    const env = {
      VSNAP_TASK_QUEUE: taskQueue,
      VSNAP_CONFIG: configFile,
      VSNAP_WORKFLOW_BUNDLE: await writeWorkflowBundle(dir),
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
    await (await run<BackupResult>('backup', { cluster: 'prod' })).result();

    const handle = (drill = await run<RestoreReport>('verify', { cluster: 'prod', target: 'ephemeral' }));
    let orphanDir = '';
    await until('the first worker started its throwaway server, which answers initialised', async () => {
      const [name] = drillDirs(dataDir);
      const owner = name ? readOwner(dataDir, name) : undefined;
      if (!name || !owner?.serverPid) return false;
      const ca = readFileSync(join(dataDir, name, 'tls', 'ca.pem'), 'utf8');
      const server = new VaultHttp({ address: serverAddress(dataDir, name), caCert: ca, timeoutMs: 2_000 });
      if (!(await server.health()).initialized) return false;
      orphanDir = name;
      orphanPid = owner.serverPid;
      return true;
    });
    assert.equal(readOwner(dataDir, orphanDir)?.workerPid, first.child.pid, "owner.json names the first worker's pid");

    first.child.kill('SIGKILL');
    await first.exited;
    assert.ok(orphanPid && isRunning(orphanPid), `the server ${orphanPid} outlives its killed worker`);
    assert.deepEqual(serverProcessesUnder(dataDir), [orphanPid], 'the orphan is the only server under the dataDir');

    const second = startWorkerProcess(env);
    workers.push(second);
    await workerStarted(second).catch((err: Error) => {
      throw new Error(`${err.message}; its output:\n${second.output().slice(-2000)}`);
    });
    // The drill is retried once its 30 s heartbeat timeout expires, on the second worker.
    const report = await handle.result();
    assert.equal(report.passed, true, JSON.stringify(report.checks));
    assert.equal(report.target, 'ephemeral');
    const attempts = await activityAttempts(handle);
    assert.equal(attempts.drillOnEphemeralServer, 2, `the drill was retried once: ${JSON.stringify(attempts)}`);

    assert.equal(isRunning(orphanPid), false, `the orphaned server ${orphanPid} is gone`);
    assert.deepEqual(serverProcessesUnder(dataDir), [], 'no server process names the dataDir');
    assert.deepEqual(drillDirs(dataDir), [], `no server directory is left (the orphan's was ${orphanDir})`);
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
  });
});
