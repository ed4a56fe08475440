// S3 Object Lock: backups nobody can delete before their time. moto checks the bucket's lock
// configuration and locks PutObject, but ignores the lock of a multipart upload (the snapshot
// itself) and would let it be deleted, so what a lock does to a snapshot is shown on SeaweedFS,
// which locks multipart objects and refuses to delete a locked version as AWS does.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { connectTemporal, type VsnapClient } from '../../client/connection';
import { manifestKeyFor } from '../../activities/storage/snapshot-keys';
import type { BackupResult } from '../../workflows/backup';
import { FailureType, WorkflowType } from '../../workflows/names';
import { assertNothingWritten } from '../helpers/bucket';
import { vsnap } from '../helpers/cli';
import { activityTypes, failureOf, start, uniqueId } from '../helpers/runs';
import { createLockBucket, LOCK_BUCKET_PREFIX, type SeaweedFs, startSeaweedFs } from '../helpers/seaweedfs';
import { isolatedCluster, prodCluster, repoRoot, s3Client, startTestWorker, type TestWorker } from '../helpers/stack';
import { startWorkerProcess, until, type WorkerProcess, workerStarted } from '../helpers/worker-process';

/** Ports 20510-20531 (weed) and 20540 (the header-recording proxy in front of it). */
const WEED_BASE_PORT = 20510;
const PROXY_PORT = 20540;
/** VSNAP_TEST_OBJECT_LOCK_SECONDS of the SeaweedFS worker: long enough to try a delete, short enough to wait out. */
const LOCK_SECONDS = 40;

describe('Object Lock on moto: the plan checks the bucket; "lifecycle" retention deletes nothing', () => {
  let worker: TestWorker;
  const lifecycleBucket = `${LOCK_BUCKET_PREFIX}lifecycle-${randomUUID().slice(0, 8)}`;
  const noLockBucket = isolatedCluster('ol-no-lock-bucket');
  noLockBucket.storage = { ...noLockBucket.storage, objectLock: { mode: 'GOVERNANCE', days: 1 } };
  const lifecycle = isolatedCluster('ol-lifecycle', { retention: { keep: 1, deleteBy: 'lifecycle' } });
  lifecycle.storage = { ...lifecycle.storage, bucket: lifecycleBucket, objectLock: { mode: 'GOVERNANCE', days: 1 } };

  before(async () => {
    await createLockBucket(s3Client(), lifecycleBucket);
    worker = await startTestWorker({ clusters: [prodCluster(), noLockBucket, lifecycle] });
  });
  after(async () => worker?.stop());

  it('a cluster asking for Object Lock on a bucket without it fails at plan, naming the bucket and the fix, before any snapshot', async () => {
    const handle = await start(worker, WorkflowType.backup, { cluster: noLockBucket.name });
    const failure = await failureOf(handle);
    assert.equal(failure.type, FailureType.ObjectLockNotEnabled);
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, new RegExp(`"${noLockBucket.storage.bucket}" does not have Object Lock enabled`));
    assert.match(failure.message, /create the bucket with Object Lock enabled.*or remove storage\.objectLock/);
    assert.deepEqual(await activityTypes(handle), ['planBackup']);
    await assertNothingWritten(noLockBucket.storage.prefix);
  });

  it('with retention.deleteBy "lifecycle", a backup beyond keep deletes nothing and says so; the manifest is locked', async () => {
    const first = (await (
      await start(worker, WorkflowType.backup, { cluster: lifecycle.name })
    ).result()) as BackupResult;
    const second = await vsnap(['backup', '--cluster', lifecycle.name, '--wait', '--no-progress'], {
      VSNAP_TASK_QUEUE: worker.taskQueue,
    });
    console.log(second.stdout);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /Retention\s+by the bucket's lifecycle rules; vsnap deletes nothing/);
    assert.match(second.stdout, /Locked until\s+\S+ \(GOVERNANCE\)/);

    const versions = await s3Client().send(
      new ListObjectVersionsCommand({ Bucket: lifecycleBucket, Prefix: `${lifecycle.storage.prefix}/` }),
    );
    assert.equal(versions.DeleteMarkers?.length ?? 0, 0, 'no delete marker: nothing was deleted or hidden');
    const snapshots = (versions.Versions ?? []).filter((v) => v.Key!.endsWith('.snap'));
    assert.equal(snapshots.length, 2, 'keep is 1, and both snapshots are still there');
    assert.ok(snapshots.some((v) => v.Key === first.key));

    const manifest = await s3Client().send(
      new HeadObjectCommand({ Bucket: lifecycleBucket, Key: manifestKeyFor(first.key) }),
    );
    assert.equal(manifest.ObjectLockMode, 'GOVERNANCE');
    assert.ok(manifest.ObjectLockRetainUntilDate! > new Date(Date.now() + 23 * 3600_000), 'locked for a day');
  });
});

interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** Forwards everything to `target` and records each request's method, path and headers. */
function recordingProxy(port: number, target: string): Promise<{ requests: RecordedRequest[]; close(): void }> {
  const requests: RecordedRequest[] = [];
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method!, url: req.url!, headers: req.headers });
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () =>
      resolve({ requests, close: () => server.close() && server.closeAllConnections() }),
    ),
  );
}

describe('Object Lock on SeaweedFS: a locked snapshot cannot be deleted; retention waits for the lock to end', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsnap-object-lock-'));
  const bucket = `${LOCK_BUCKET_PREFIX}${randomUUID().slice(0, 8)}`;
  const taskQueue = `vsnap-object-lock-test-${randomUUID().slice(0, 8)}`;
  const cluster = 'ol-locked';
  const prefix = `test/${randomUUID().slice(0, 8)}/${cluster}`;
  let weed: SeaweedFs;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let worker: WorkerProcess;
  let temporal: VsnapClient;

  before(async () => {
    weed = await startSeaweedFs(WEED_BASE_PORT, dir);
    await createLockBucket(weed.s3, bucket);
    proxy = await recordingProxy(PROXY_PORT, weed.endpoint);
    // prod's cluster as the stack configures it, in the lock bucket, without KMS (SeaweedFS has none).
    const stackConfig = JSON.parse(readFileSync(join(repoRoot, '.stack', 'vsnap.config.json'), 'utf8')) as {
      clusters: Record<string, unknown>[];
    };
    const prod = stackConfig.clusters.find((c) => c.name === 'prod')!;
    const locked = {
      ...prod,
      name: cluster,
      storage: { bucket, prefix, objectLock: { mode: 'COMPLIANCE', days: 1 } },
      retention: { keep: 1 },
      drill: undefined,
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ clusters: [locked] }));
    worker = startWorkerProcess({
      VSNAP_CONFIG: join(dir, 'config.json'),
      VSNAP_TASK_QUEUE: taskQueue,
      // Only S3 goes to SeaweedFS (through the proxy); Secrets Manager and KMS stay on moto.
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${PROXY_PORT}`,
      VSNAP_TEST_OBJECT_LOCK_SECONDS: String(LOCK_SECONDS),
    });
    await workerStarted(worker);
    temporal = await connectTemporal({ taskQueue });
  });

  after(async () => {
    await temporal?.close();
    worker?.child.kill('SIGTERM');
    await worker?.exited;
    proxy?.close();
    await weed?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function backup(): Promise<BackupResult> {
    const handle = await temporal.client.workflow.start(WorkflowType.backup, {
      taskQueue,
      workflowId: uniqueId('backup'),
      args: [{ cluster }],
    });
    return (await handle.result()) as BackupResult;
  }

  async function versionsOf(key: string): Promise<string[]> {
    const res = await weed.s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
    return [...(res.Versions ?? []), ...(res.DeleteMarkers ?? [])]
      .filter((v) => v.Key === key)
      .map((v) => v.VersionId!);
  }

  it('every snapshot part and the manifest are written with a checksum and the lock', async () => {
    const first = await backup();
    assert.equal(first.objectLock?.mode, 'COMPLIANCE');
    const head = await weed.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: first.key }));
    assert.equal(head.ObjectLockMode, 'COMPLIANCE');
    const ofKey = (key: string) =>
      proxy.requests.filter((r) => new URL(r.url, 'http://x').pathname === `/${bucket}/${key}`);
    const snapshotRequests = ofKey(first.key);
    const create = snapshotRequests.find((r) => r.method === 'POST' && /[?&]uploads/.test(r.url))!;
    assert.equal(create.headers['x-amz-checksum-algorithm'], 'CRC32');
    assert.equal(create.headers['x-amz-object-lock-mode'], 'COMPLIANCE');
    const parts = snapshotRequests.filter((r) => r.method === 'PUT' && /[?&]partNumber=/.test(r.url));
    assert.ok(parts.length > 0);
    for (const part of parts) assert.ok(part.headers['x-amz-checksum-crc32'], `part ${part.url} has no checksum`);
    const manifestPut = ofKey(manifestKeyFor(first.key)).find((r) => r.method === 'PUT')!;
    assert.ok(manifestPut.headers['x-amz-checksum-crc32'], 'the manifest PutObject has no checksum');
    assert.equal(manifestPut.headers['x-amz-object-lock-mode'], 'COMPLIANCE');
    assert.ok(manifestPut.headers['x-amz-object-lock-retain-until-date']);
    console.log(`${parts.length} UploadPart(s), each with x-amz-checksum-crc32; manifest PutObject too`);
  });

  it('Deletion is refused: a locked snapshot cannot be deleted by the worker’s own client before its retain-until date, and retention reports it as locked', async () => {
    const [oldest] = await backupsSoFar();
    const result = await vsnap(['backup', '--cluster', cluster, '--wait', '--no-progress'], {
      VSNAP_TASK_QUEUE: taskQueue,
    });
    console.log(result.stdout);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Locked until\s+\S+ \(COMPLIANCE\)/);
    assert.match(result.stdout, new RegExp(`${oldest} locked until \\S+ \\(COMPLIANCE\\)`));
    assert.match(worker.output(), new RegExp(`retention keeps ${oldest}: locked until`));

    // The worker's own credentials, straight at each version: S3 refuses while the lock holds.
    for (const versionId of await versionsOf(oldest)) {
      const refused = await weed.s3
        .send(new DeleteObjectCommand({ Bucket: bucket, Key: oldest, VersionId: versionId }))
        .then(
          () => assert.fail(`version ${versionId} of ${oldest} was deleted while locked`),
          (err: unknown) => err,
        );
      assert.ok(refused instanceof S3ServiceException, String(refused));
      assert.equal(refused.name, 'AccessDenied');
    }
    assert.equal((await versionsOf(oldest)).length, 1, 'still there, no delete marker');
  });

  it('once the lock has ended, the next backup deletes every version of the snapshot and its manifest', async () => {
    const [oldest, second] = await backupsSoFar();
    const head = await weed.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: manifestKeyFor(second) }));
    const unlocked = head.ObjectLockRetainUntilDate!.getTime() + 1500;
    await until('both earlier snapshots are unlocked', () => Promise.resolve(Date.now() > unlocked), 60_000);

    const third = await backup();
    assert.deepEqual([...third.retention.deleted].sort(), [oldest, second].sort());
    assert.deepEqual(third.retention.locked, []);
    for (const key of [oldest, manifestKeyFor(oldest), second, manifestKeyFor(second)]) {
      assert.deepEqual(await versionsOf(key), [], `${key}: versions or delete markers left`);
    }
  });

  /** The snapshot keys under the prefix, oldest first. */
  async function backupsSoFar(): Promise<string[]> {
    const res = await weed.s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: `${prefix}/` }));
    return [...new Set((res.Versions ?? []).map((v) => v.Key!).filter((k) => k.endsWith('.snap')))].sort();
  }
});
