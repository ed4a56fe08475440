// Soak: a schedule applied through the real CLI starts a backup every 2 s with keep 10, run by a
// real worker process, until N backups have completed. Then exactly the 10 newest snapshots
// remain (each with its manifest), no multipart upload is left behind, and the worker's memory
// stayed flat. CI runs the default N=30; the full soak is, by hand:
//   VSNAP_SOAK_BACKUPS=200 npm run test:soak
// The source is the soak's own OpenBao, seeded as the stack seeds prod (KV v2, the snapshot-agent
// AppRole and policy), so the soak measures vsnap and not what other tests left in the shared
// prod: with the bench's 512 MiB fill in it, each backup of prod takes ~10 s instead of ~0.4 s.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import { manifestKeyFor } from '../../activities/storage/snapshot-keys';
import { connectTemporal, type VsnapClient } from '../../client/connection';
import type { BackupResult } from '../../workflows/backup';
import { vsnap } from '../helpers/cli';
import { startScratchCluster, type ScratchCluster } from '../helpers/scratch-bao';
import { isolatedCluster, repoRoot, s3Client } from '../helpers/stack';
import {
  rssMiB,
  startWorkerProcess,
  type WorkerProcess,
  until,
  workerStarted,
  writeWorkflowBundle,
} from '../helpers/worker-process';

const BACKUPS = Number(process.env.VSNAP_SOAK_BACKUPS || 30);
const KEEP = 10;
const EVERY_SECONDS = 2;
/**
 * Memory is flat when the median RSS of the last quarter of the backups exceeds the median of
 * the second quarter by less than this; medians, so a single sample taken just before a GC does
 * not decide. The first quarter (JIT, connection pools, caches filling once) is left out. Measured
 * with --trace-gc: the worker's V8 heap grows ~1.5 MiB per backup until its first
 * memory-reducing major GC, ~50 backups in (RSS ~230 -> ~280 MiB, then ~225 MiB), and afterwards
 * the live heap stays at ~40 MiB. So the CI soak (30 backups) measures that warm-up, up to ~25
 * MiB between its medians, and 40 MiB stays clear of it while still failing a leak of a retained
 * upload part (8 MiB) per backup, which adds ~120 MiB at N=30. At N=200 the medians lie ~100
 * backups apart and the limit fails any leak above ~400 KiB per backup.
 */
const MAX_GROWTH_MIB = 40;
/** A backup of the near-empty source takes ~0.4 s; a schedule that stops starting them is a failure. */
const STALL_MS = 60_000;
/** Twice the schedule's pace, plus a minute: beyond it the backups are too slow for a soak. */
const RUN_MS = BACKUPS * EVERY_SECONDS * 5_000 + 60_000;
const SCRATCH_PORT = 18700;

interface Sample {
  completed: number;
  rssMiB: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** A single-node OpenBao with the snapshot-agent AppRole, as `npm run stack:up` seeds prod. */
async function startSoakVault(): Promise<{ vault: ScratchCluster; roleId: string; secretId: string }> {
  const vault = await startScratchCluster({ basePort: SCRATCH_PORT });
  const http = vault.nodes[0].vault;
  const as = { token: vault.rootToken };
  const role = '/auth/approle/role/snapshot-agent';
  const policy = readFileSync(join(repoRoot, 'deploy', 'vault', 'snapshot-agent-policy.hcl'), 'utf8');
  await http.request('enable AppRole', { method: 'POST', path: '/sys/auth/approle', json: { type: 'approle' }, ...as });
  await http.request('write policy', {
    method: 'PUT',
    path: '/sys/policies/acl/snapshot-agent',
    json: { policy },
    ...as,
  });
  await http.request('write role', {
    method: 'POST',
    path: role,
    json: { token_policies: ['snapshot-agent'], token_no_default_policy: true, token_ttl: '15m' },
    ...as,
  });
  const id = await http.request<{ data: { role_id: string } }>('read role id', {
    method: 'GET',
    path: `${role}/role-id`,
    ...as,
  });
  const secret = await http.request<{ data: { secret_id: string } }>('create secret id', {
    method: 'POST',
    path: `${role}/secret-id`,
    ...as,
  });
  return { vault, roleId: id.data.role_id, secretId: secret.data.secret_id };
}

describe(`soak: a backup every ${EVERY_SECONDS} s with keep ${KEEP}, ${BACKUPS} times`, () => {
  assert.ok(Number.isInteger(BACKUPS) && BACKUPS > KEEP, `VSNAP_SOAK_BACKUPS must be an integer > ${KEEP}`);
  const suffix = randomUUID().slice(0, 8);
  const scheduleId = `soak-${suffix}`;
  const cluster = isolatedCluster(`soak-${suffix}`, {
    address: `http://127.0.0.1:${SCRATCH_PORT}`,
    // A scratch server on loopback, without TLS.
    allowInsecureHttp: true,
    auth: {
      method: 'approle',
      mount: 'approle',
      credentials: { source: 'env', roleIdEnv: 'APPROLE_ROLE_ID', secretIdEnv: 'APPROLE_SECRET_ID' },
    },
    retention: { keep: KEEP },
  });
  const { bucket } = cluster.storage;
  const prefix = `${cluster.storage.prefix}/`;
  const taskQueue = `soak-${randomUUID()}`;
  const dir = mkdtempSync(join(tmpdir(), 'vsnap-soak-'));
  const configFile = join(dir, 'config.json');
  const s3 = s3Client();
  let source: ScratchCluster | undefined;
  let worker: WorkerProcess | undefined;
  let temporal: VsnapClient | undefined;

  const cli = (args: string[]) => vsnap([...args, '--task-queue', taskQueue], { VSNAP_CONFIG: configFile });
  // Temporal sets TemporalScheduledById on every run a schedule starts: exactly this soak's runs.
  const runs = `TemporalScheduledById = '${scheduleId}'`;
  const countRuns = async (filter: string) => (await temporal!.client.workflow.count(`${runs} AND ${filter}`)).count;
  const workerTail = () => worker!.output().slice(-3000);

  async function objectKeys(): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
    } while (token);
    return keys.sort();
  }
  const openUploads = async () =>
    (await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }))).Uploads ?? [];

  before(async () => {
    const soakVault = await startSoakVault();
    source = soakVault.vault;
    writeFileSync(configFile, JSON.stringify({ clusters: [cluster] }));
    worker = startWorkerProcess({
      APPROLE_ROLE_ID: soakVault.roleId,
      APPROLE_SECRET_ID: soakVault.secretId,
      VSNAP_TASK_QUEUE: taskQueue,
      VSNAP_CONFIG: configFile,
      VSNAP_WORKFLOW_BUNDLE: await writeWorkflowBundle(dir),
      VSNAP_SHUTDOWN_GRACE_SECONDS: '5',
    });
    await workerStarted(worker);
    temporal = await connectTemporal({ taskQueue });
  });

  after(async () => {
    await cli(['schedule', 'delete', scheduleId]); // a no-op when the test got to delete it
    if (worker) {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
    await temporal?.close();
    await source?.stop();
    const objects = await objectKeys();
    for (let i = 0; i < objects.length; i += 1000) {
      const batch = objects.slice(i, i + 1000).map((Key) => ({ Key }));
      await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch } }));
    }
    for (const u of await openUploads()) {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test(
    `${BACKUPS} scheduled backups: the ${KEEP} newest remain, no upload leaks, worker memory stays flat`,
    { timeout: RUN_MS + 120_000 },
    async () => {
      const pid = worker!.child.pid!;
      const scheduleFile = join(dir, 'schedules.yaml');
      writeFileSync(
        scheduleFile,
        [
          'schedules:',
          `  - id: ${scheduleId}`,
          '    kind: backup',
          `    cluster: ${cluster.name}`,
          `    every: ${EVERY_SECONDS}s`,
          '    jitter: 0s # a steady rhythm; Temporal would cap the default 5m at the interval anyway',
          '    input:',
          `      keep: ${KEEP}`,
          '',
        ].join('\n'),
      );
      const began = Date.now();
      const applied = await cli(['schedule', 'apply', scheduleFile]);
      assert.equal(applied.code, 0, applied.stderr);
      assert.match(
        applied.stdout,
        new RegExp(`created\\s+${scheduleId}\\s+backup ${cluster.name} every ${EVERY_SECONDS}s`),
      );
      const again = await cli(['schedule', 'apply', scheduleFile]);
      assert.match(again.stdout, new RegExp(`unchanged\\s+${scheduleId}`), 'a second apply is a no-op');

      // One RSS sample each time the count of completed backups moves (polled faster than they come).
      const samples: Sample[] = [{ completed: 0, rssMiB: rssMiB(pid) }];
      let completed = 0;
      let lastProgress = Date.now();
      let lastFailureCheck = Date.now();
      while (completed < BACKUPS) {
        await sleep(200);
        const now = await countRuns(`ExecutionStatus = 'Completed'`);
        if (now > completed) {
          completed = now;
          samples.push({ completed, rssMiB: rssMiB(pid) });
          lastProgress = Date.now();
        }
        if (Date.now() - lastFailureCheck > 5_000) {
          lastFailureCheck = Date.now();
          const failed = await countRuns(`ExecutionStatus != 'Completed' AND ExecutionStatus != 'Running'`);
          assert.equal(failed, 0, `${failed} scheduled backups did not complete; worker output:\n${workerTail()}`);
        }
        assert.ok(
          Date.now() - began < RUN_MS,
          `only ${completed} of ${BACKUPS} backups completed in ${RUN_MS / 1000} s; worker output:\n${workerTail()}`,
        );
        assert.ok(
          Date.now() - lastProgress < STALL_MS,
          `no backup completed for ${STALL_MS / 1000} s (${completed} of ${BACKUPS} done); worker output:\n${workerTail()}`,
        );
      }
      const elapsedSeconds = (Date.now() - began) / 1000;
      const info = (await temporal!.client.schedule.getHandle(scheduleId).describe()).info;

      const deleted = await cli(['schedule', 'delete', scheduleId]);
      assert.equal(deleted.code, 0, deleted.stderr);
      // Nothing starts after the delete; a run started just before it must finish first.
      await until('no scheduled run still running', async () => (await countRuns(`ExecutionStatus = 'Running'`)) === 0);
      const results: BackupResult[] = [];
      for await (const run of temporal!.client.workflow.list({ query: runs })) {
        results.push(
          await temporal!.client.workflow.getHandle<() => Promise<BackupResult>>(run.workflowId, run.runId).result(),
        );
      }
      assert.ok(results.length >= BACKUPS, `${results.length} runs listed, ${BACKUPS} completed before the delete`);

      const newest = results
        .map((r) => r.key)
        .sort()
        .slice(-KEEP);
      assert.deepEqual(
        await objectKeys(),
        newest.flatMap((key) => [key, manifestKeyFor(key)]).sort(),
        `exactly the ${KEEP} newest snapshots and their manifests remain under ${prefix}`,
      );
      assert.deepEqual(
        (await openUploads()).map((u) => `${u.Key} (started ${u.Initiated?.toISOString()})`),
        [],
        'no multipart upload is left behind',
      );

      const quarter = Math.floor(samples.length / 4);
      const second = median(samples.slice(quarter, 2 * quarter).map((s) => s.rssMiB));
      const last = median(samples.slice(-quarter).map((s) => s.rssMiB));
      const rss = samples.map((s) => s.rssMiB);
      const durations = results.map((r) => r.durationSeconds);
      console.log(
        `soak: ${results.length} backups (${info.numActionsSkippedOverlap} starts skipped by overlap SKIP) ` +
          `in ${elapsedSeconds.toFixed(0)} s (each ${median(durations).toFixed(2)} s median, ` +
          `${Math.max(...durations).toFixed(2)} s max); worker RSS min ${Math.min(...rss).toFixed(1)} MiB, ` +
          `max ${Math.max(...rss).toFixed(1)} MiB; median 2nd quarter ${second.toFixed(1)} MiB, ` +
          `last quarter ${last.toFixed(1)} MiB (growth ${(last - second).toFixed(1)}, limit ${MAX_GROWTH_MIB})`,
      );
      console.log('soak: completed backups, worker RSS MiB');
      for (const s of samples.filter((s, i) => s.completed % 10 === 0 || i === 1 || i === samples.length - 1)) {
        console.log(`soak: ${String(s.completed).padStart(4)} ${s.rssMiB.toFixed(1).padStart(7)}`);
      }
      assert.ok(
        last - second < MAX_GROWTH_MIB,
        `worker RSS grew ${(last - second).toFixed(1)} MiB from the second to the last quarter of the soak`,
      );
    },
  );
});
