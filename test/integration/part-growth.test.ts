// Multipart uploads as S3 sees them, on a ~32 MiB snapshot of an OpenBao of the test's own.
// Parts grow as a snapshot streams, so a large snapshot stays within S3's part limit: with the
// limit lowered to 4 parts (VSNAP_TEST_MAX_UPLOAD_PARTS) and 5 MiB parts, the snapshot would
// need 7 parts of a fixed size, so the worker has to grow them, and S3 holds an object of at
// most 4 parts, growing in size, with the SHA-256 the backup recorded. And parts reuse their
// connections: on a real network each new one pays TCP and TLS handshakes before its part.
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { connectTemporal, type VsnapClient } from '../../client/connection';
import { planPartSizes } from '../../activities/storage/part-sizes';
import type { ClusterConfig } from '../../worker/config';
import type { backup } from '../../workflows/backup';
import { bucket, objectBytes, s3 } from '../helpers/bucket';
import { uniqueId } from '../helpers/runs';
import { startScratchCluster, type ScratchCluster } from '../helpers/scratch-bao';
import { isolatedCluster } from '../helpers/stack';
import { startWorkerProcess, type WorkerProcess, workerStarted, writeWorkflowBundle } from '../helpers/worker-process';
import { startModelledNetwork } from '../../bench/modelled-network';
import { stackEnv } from '../helpers/stack';

const MiB = 1024 * 1024;
const PART_SIZE = 5 * MiB;
const MAX_PARTS = 4;

/** The size of each part of a stored multipart object, as S3 reports it (HeadObject by part number). */
async function storedPartSizes(key: string): Promise<number[]> {
  const first = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, PartNumber: 1 }));
  const sizes = [first.ContentLength!];
  for (let part = 2; part <= (first.PartsCount ?? 1); part++) {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, PartNumber: part }));
    sizes.push(head.ContentLength!);
  }
  return sizes;
}

describe('upload parts grow to keep a snapshot within the part limit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsnap-part-growth-'));
  const taskQueue = `part-growth-${randomUUID()}`;
  let vault: ScratchCluster;
  let cluster: ClusterConfig;
  let worker: WorkerProcess | undefined;
  let temporal: VsnapClient | undefined;
  let workerEnv: Record<string, string>;

  before(async () => {
    // A Vault of its own, so the snapshot's size is this test's choice and prod is left alone.
    vault = await startScratchCluster({ basePort: 19850 });
    // ~32 MiB of incompressible secrets, base64 (each under Raft's 1 MiB entry limit).
    for (let i = 0; i < 48; i++) {
      await vault.nodes[0].vault.request('write bulk secret', {
        method: 'POST',
        path: `/secret/data/bulk/${i}`,
        json: { data: { blob: randomBytes(512 * 1024).toString('base64') } },
        token: vault.rootToken,
      });
    }
    cluster = {
      ...isolatedCluster('growth'),
      address: vault.nodes[0].address,
      allowInsecureHttp: true,
      auth: { method: 'token', tokenEnv: 'TEST_GROWTH_TOKEN' },
    };
    delete cluster.drill;
    delete cluster.keyShares;
    const configFile = join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify({ clusters: [cluster] }));
    workerEnv = {
      VSNAP_CONFIG: configFile,
      VSNAP_PART_SIZE_MIB: String(PART_SIZE / MiB),
      VSNAP_WORKFLOW_BUNDLE: await writeWorkflowBundle(dir),
      TEST_GROWTH_TOKEN: vault.rootToken,
    };
    worker = startWorkerProcess({
      ...workerEnv,
      VSNAP_TASK_QUEUE: taskQueue,
      VSNAP_TEST_MAX_UPLOAD_PARTS: String(MAX_PARTS),
    });
    await workerStarted(worker);
    temporal = await connectTemporal({ taskQueue });
  });

  after(async () => {
    if (worker && worker.child.exitCode === null) {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
    await temporal?.close();
    await vault?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a snapshot that needs 7 fixed parts is stored in at most 4, growing from 5 MiB, whole', async () => {
    const handle = await temporal!.client.workflow.start<typeof backup>('backup', {
      taskQueue,
      workflowId: uniqueId('backup'),
      args: [{ cluster: cluster.name }],
    });
    const result = await handle.result();
    assert.ok(
      Math.ceil(result.size / PART_SIZE) > MAX_PARTS,
      `the snapshot (${result.size} bytes) would need more than ${MAX_PARTS} parts of ${PART_SIZE} bytes`,
    );

    const parts = await storedPartSizes(result.key);

    assert.ok(parts.length <= MAX_PARTS, `${parts.length} parts: ${parts.join(', ')}`);
    assert.equal(
      parts.reduce((a, b) => a + b, 0),
      result.size,
    );
    const plan = planPartSizes(PART_SIZE, MAX_PARTS);
    parts.slice(0, -1).forEach((size, i) => assert.equal(size, plan.partBytes(i + 1), `part ${i + 1}`));
    assert.equal(parts[0], PART_SIZE, 'the first part has the configured size');
    assert.ok(parts[1] > parts[0], `part 2 (${parts[1]} bytes) is larger than part 1: fixed parts never are`);
    const bytes = await objectBytes(result.key);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), result.sha256);
    assert.match(worker!.output(), /upload parts grow/, 'the worker logged the growth');
  });
  test('the parts of one upload share a few connections to S3, not one each', async () => {
    // A proxy that only counts (no latency, no cap) between the worker and S3.
    const counter = await startModelledNetwork(stackEnv.AWS_ENDPOINT_URL, {
      latencyMs: 0,
      bytesPerSecondPerConnection: 1e12,
    });
    const ownQueue = `${taskQueue}-connections`;
    const own = startWorkerProcess({ ...workerEnv, VSNAP_TASK_QUEUE: ownQueue, AWS_ENDPOINT_URL_S3: counter.endpoint });
    const client = await connectTemporal({ taskQueue: ownQueue });
    try {
      await workerStarted(own);
      const result = await client.client.workflow
        .start<typeof backup>('backup', {
          taskQueue: ownQueue,
          workflowId: uniqueId('backup'),
          args: [{ cluster: cluster.name }],
        })
        .then((h) => h.result());
      const parts = Math.ceil(result.size / PART_SIZE);
      const { connections, requests } = counter.traffic();
      assert.ok(parts >= 6, `a snapshot of ${parts} parts`);
      // Two parts in flight (the default concurrency), plus the calls around them.
      assert.ok(
        connections <= 4,
        `${connections} connections for ${requests} S3 requests, ${parts} of them parts: each part opened its own`,
      );
    } finally {
      own.child.kill('SIGTERM');
      await own.exited;
      await client.close();
      await counter.close();
    }
  });
});
