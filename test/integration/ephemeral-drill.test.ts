// Restore drills with no drill cluster: `vsnap verify` starts a throwaway server beside the
// worker, restores the backup into it, checks it and wipes it. Prod (transit auto-unseal) and
// a Shamir-sealed scratch cluster pass, with no server process and no directory left behind;
// a dataDir too small for 3x the snapshot, or a snapshot over maxSnapshotBytes, is refused
// before anything starts, naming the numbers. One worker process serves every case, from one
// config file listing every cluster, as an operator's worker would read it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { connectTemporal, type VsnapClient } from '../../client/connection';
import type { BackupResult } from '../../workflows/backup';
import { FailureType } from '../../workflows/names';
import type { RestoreReport } from '../../workflows/restore-types';
import { vsnap } from '../helpers/cli';
import { drillDirs, isRunning, readOwner, serverProcessesUnder, stackProdEntry } from '../helpers/ephemeral';
import { failureOf } from '../helpers/runs';
import { startScratchCluster, type ScratchCluster } from '../helpers/scratch-bao';
import { bao } from '../helpers/stack';
import { makeTestCertificate } from '../helpers/test-ca';
import {
  startWorkerProcess,
  until,
  type WorkerProcess,
  workerStarted,
  writeWorkflowBundle,
} from '../helpers/worker-process';

const MiB = 1024 * 1024;

describe('ephemeral restore drills (no drill cluster: a throwaway server beside the worker)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsnap-ephemeral-drill-'));
  /** Each cluster's dataDir: prod's and the scratch cluster's fresh, tinyDisk a 16 MiB tmpfs. */
  const dataDirs = {
    prod: join(dir, 'prod-drills'),
    scratch: join(dir, 'scratch-drills'),
    tinyDisk: join(dir, 'tiny'),
  };
  const prefix = `test/${randomUUID().slice(0, 8)}`;
  const taskQueue = `ephemeral-drill-${randomUUID()}`;
  let tinyDiskMounted = false;
  let scratch: ScratchCluster | undefined;
  let worker: WorkerProcess | undefined;
  let temporal: VsnapClient | undefined;
  let prodBackup: BackupResult;
  const cli = (args: string[]) => vsnap([...args, '--task-queue', taskQueue]);
  const run = <T>(type: string, input: unknown) =>
    temporal!.client.workflow.start<(i: unknown) => Promise<T>>(type, {
      taskQueue,
      workflowId: `${type}-ephemeral-${randomUUID()}`,
      args: [input],
    });

  before(async () => {
    for (const d of Object.values(dataDirs)) mkdirSync(d);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dataDirs.tinyDisk]);
    tinyDiskMounted = true;
    const tls = makeTestCertificate(join(dir, 'ca'));
    scratch = await startScratchCluster({ basePort: 19700, keyShares: { shares: 3, threshold: 2 }, tls });

    // prod and its two refusing twins share one S3 prefix, so they drill the same snapshot.
    const prod = stackProdEntry();
    const prodStorage = { ...(prod.storage as Record<string, unknown>), prefix: `${prefix}/prod` };
    const configFile = join(dir, 'config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        clusters: [
          stackProdEntry({ storage: prodStorage }, { dataDir: dataDirs.prod }),
          stackProdEntry({ name: 'prod-tiny-disk', storage: prodStorage }, { dataDir: dataDirs.tinyDisk }),
          stackProdEntry(
            { name: 'prod-size-cap', storage: prodStorage },
            { dataDir: dataDirs.prod, maxSnapshotBytes: MiB },
          ),
          {
            name: 'scratch',
            address: scratch.nodes[0].address,
            caCertFile: tls.caFile,
            auth: { method: 'token', tokenEnv: 'TEST_SCRATCH_TOKEN' },
            keyShares: { source: 'env', name: 'TEST_SCRATCH_KEYS' },
            storage: { ...(prod.storage as Record<string, unknown>), prefix: `${prefix}/scratch` },
            protected: false,
            drill: {
              ephemeral: {
                binary: bao,
                dataDir: dataDirs.scratch,
                maxSnapshotBytes: 64 * MiB,
                seal: { type: 'shamir' },
              },
            },
          },
        ],
      }),
    );
    worker = startWorkerProcess({
      VSNAP_TASK_QUEUE: taskQueue,
      VSNAP_CONFIG: configFile,
      VSNAP_WORKFLOW_BUNDLE: await writeWorkflowBundle(dir),
      TEST_SCRATCH_TOKEN: scratch.rootToken,
      TEST_SCRATCH_KEYS: JSON.stringify({ keys: scratch.keys, threshold: 2 }),
    });
    await workerStarted(worker);
    temporal = await connectTemporal({ taskQueue });
    const backups = await Promise.all(
      ['prod', 'scratch'].map(async (cluster) => (await run<BackupResult>('backup', { cluster })).result()),
    );
    prodBackup = backups[0];
  });

  after(async () => {
    worker?.child.kill('SIGTERM');
    await worker?.exited;
    await temporal?.close().catch(() => undefined);
    await scratch?.stop();
    if (tinyDiskMounted) execFileSync('umount', [dataDirs.tinyDisk]);
    rmSync(dir, { recursive: true, force: true });
  });

  /** The drill left nothing behind: no server process names the dataDir, no server directory is in it. */
  function assertNothingLeft(dataDir: string): void {
    assert.deepEqual(serverProcessesUnder(dataDir), [], `bao server processes under ${dataDir}`);
    assert.deepEqual(drillDirs(dataDir), [], `server directories in ${dataDir}`);
  }

  test('transit-sealed prod: `vsnap verify` restores into a throwaway server, every check passes, nothing is left', async () => {
    const res = await cli(['verify', '--cluster', 'prod']);
    assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
    assert.match(res.stdout, /^vsnap verify of prod into ephemeral: PASSED/m);
    for (const check of [
      'every recorded mount exists and is listable',
      'storage entries per mount match the snapshot',
      'canary matches manifest',
      'inventory matches backup',
    ]) {
      assert.match(res.stdout, new RegExp(`\\[PASS\\] ${check}: `), `${check} in\n${res.stdout}`);
    }
    assert.doesNotMatch(res.stdout, /\[FAIL\]/);
    assert.match(res.stdout, /^recovery time: \d+\.\ds /m);
    for (const phase of ['start-server', 'init', 'restore', 'unseal', 'regenerate-root', 'check']) {
      assert.match(res.stdout, new RegExp(`ephemeral-drill/${phase} \\d`), `step ${phase} in\n${res.stdout}`);
    }
    assertNothingLeft(dataDirs.prod);
  });

  test("Shamir-sealed cluster: the throwaway server is unsealed with the cluster's own key shares", async () => {
    const res = await cli(['verify', '--cluster', 'scratch', '--json']);
    assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
    const { result: report } = JSON.parse(res.stdout) as { result: RestoreReport };
    assert.equal(report.passed, true, JSON.stringify(report.checks));
    assert.equal(report.target, 'ephemeral');
    assert.equal(report.targetChanged, false, 'the scratch cluster itself was not touched');
    assert.ok((report.recoverySeconds ?? 0) > 0, `recoverySeconds ${report.recoverySeconds}`);
    const names = report.checks.map((c) => c.name);
    assert.ok(names.includes('every recorded mount exists and is listable'), names.join(', '));
    assert.ok(names.includes('storage entries per mount match the snapshot'), names.join(', '));
    assertNothingLeft(dataDirs.scratch);
  });

  test('a drill cancelled while its server restores stops the server and wipes its directory', async () => {
    const handle = await run<RestoreReport>('verify', { cluster: 'prod' });
    await until('the throwaway server is running', () => {
      const [name] = drillDirs(dataDirs.prod);
      return Promise.resolve(Boolean(name && readOwner(dataDirs.prod, name)?.serverPid));
    });
    const [name] = drillDirs(dataDirs.prod);
    const serverPid = readOwner(dataDirs.prod, name)!.serverPid!;

    await handle.cancel();
    const failure = await handle.result().then(
      () => assert.fail('the cancelled drill completed'),
      (err: unknown) => err,
    );
    assert.ok(failure instanceof WorkflowFailedError && failure.cause instanceof CancelledFailure, String(failure));
    await until('the server is stopped and its directory wiped', () =>
      Promise.resolve(!isRunning(serverPid) && drillDirs(dataDirs.prod).length === 0),
    );
    assertNothingLeft(dataDirs.prod);
  });

  test('a dataDir with less than 3x the snapshot free is refused before anything starts, naming both numbers', async () => {
    const free = statfsSync(dataDirs.tinyDisk).bavail * statfsSync(dataDirs.tinyDisk).bsize;
    const needed = 3 * prodBackup.size;
    assert.ok(needed > free, `precondition: prod's snapshot (${prodBackup.size} bytes) is over a third of 16 MiB`);

    const failure = await failureOf(await run('verify', { cluster: 'prod-tiny-disk' }));
    assert.equal(failure.type, FailureType.EphemeralDrillRefused, failure.message);
    assert.ok(failure.message.includes(`(${free} bytes)`), `free bytes in: ${failure.message}`);
    assert.ok(failure.message.includes(`(${needed} bytes)`), `needed bytes in: ${failure.message}`);
    assertNothingLeft(dataDirs.tinyDisk);
  });

  test('a snapshot over maxSnapshotBytes is refused, naming its size and the limit', async () => {
    const failure = await failureOf(await run('verify', { cluster: 'prod-size-cap' }));
    assert.equal(failure.type, FailureType.EphemeralDrillRefused, failure.message);
    assert.ok(failure.message.includes(`(${prodBackup.size} bytes)`), `snapshot size in: ${failure.message}`);
    assert.ok(failure.message.includes(`(${MiB} bytes)`), `the limit in: ${failure.message}`);
    assertNothingLeft(dataDirs.prod);
  });

  test('the CLI names the refusal and exits 1', async () => {
    const res = await cli(['verify', '--cluster', 'prod-tiny-disk']);
    assert.equal(res.code, 1, res.stdout);
    assert.match(res.stderr, /needs 3x its size/);
  });
});
