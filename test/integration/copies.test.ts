// Second copies (storage.copies) on the stack's moto: each test backs up prod under a prefix of
// its own and copies it to a bucket of its own in another region (eu-central-1, with a KMS key
// there), then reads both sides back. moto serves every region on one endpoint; its STS accepts
// any role, so the roleArn test proves the role is assumed from the call log, not from a refusal.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CreateKeyCommand, KMSClient, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import type { StorageCopyConfig } from '../../config/cluster-schema';
import type { CopyResult } from '../../activities/copy-activities';
import { manifestKeyFor } from '../../activities/storage/snapshot-keys';
import type { AwsCallRecord } from '../../worker/aws-call-log';
import type { ClusterConfig } from '../../worker/config';
import type { backup, BackupResult } from '../../workflows/backup';
import { FailureType, WorkflowType } from '../../workflows/names';
import { assertValidSnapshot } from '../helpers/bucket';
import { vsnap } from '../helpers/cli';
import { failureOf, sharedFixture, start } from '../helpers/runs';
import { isolatedCluster, stackEnv, startTestWorker, type TestWorker } from '../helpers/stack';

const COPY_REGION = 'eu-central-1';
const MiB = 1024 * 1024;
/** moto's STS assumes any role; the account it names is the one the assumed credentials act in. */
const COPY_ROLE = 'arn:aws:iam::444455556666:role/vsnap-copy';

const primary = new S3Client({ forcePathStyle: true });
// moto reports a copied multipart object's composite CRC32 as a full-object one (no "-N"), which
// the SDK's response check would refuse; the test compares SHA-256s itself (as the copy client does).
const remote = new S3Client({ forcePathStyle: true, region: COPY_REGION, responseChecksumValidation: 'WHEN_REQUIRED' });
const primaryBucket = stackEnv.VSNAP_BUCKET;
const dir = mkdtempSync(join(tmpdir(), 'vsnap-copies-'));
// The suite's log when `npm test` runs (the IAM judge reads it), else one of this file's own.
const callLog = process.env.VSNAP_AWS_CALL_LOG ?? join(dir, 'aws-calls.jsonl');

async function bytesOf(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A bucket in the copy region, named as the judged policies expect a copy bucket (vsnap-test-copy-*). */
async function copyBucket(options: { objectLock?: boolean } = {}): Promise<string> {
  const name = `vsnap-test-copy-${randomUUID().slice(0, 8)}`;
  await remote.send(
    new CreateBucketCommand({
      Bucket: name,
      CreateBucketConfiguration: { LocationConstraint: COPY_REGION },
      ...(options.objectLock ? { ObjectLockEnabledForBucket: true } : {}),
    }),
  );
  buckets.push(name);
  return name;
}

const buckets: string[] = [];
const prefixes: string[] = [];

/** Every version (locked GOVERNANCE ones with the bypass the test's credentials have), then the bucket. */
async function removeBucket(bucket: string): Promise<void> {
  const versions = await remote.send(new ListObjectVersionsCommand({ Bucket: bucket }));
  for (const v of [...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])]) {
    await remote.send(
      new DeleteObjectCommand({ Bucket: bucket, Key: v.Key, VersionId: v.VersionId, BypassGovernanceRetention: true }),
    );
  }
  await remote.send(new DeleteBucketCommand({ Bucket: bucket }));
}

function clusterWithCopies(name: string, copies: StorageCopyConfig[], changes: Partial<ClusterConfig> = {}) {
  const cluster = isolatedCluster(name, changes);
  prefixes.push(cluster.storage.prefix);
  return { ...cluster, storage: { ...cluster.storage, copies } };
}

function backupOf(worker: TestWorker, cluster: ClusterConfig) {
  return start<typeof backup>(worker, WorkflowType.backup, { cluster: cluster.name });
}

function readCalls(): AwsCallRecord[] {
  if (!existsSync(callLog)) return [];
  return readFileSync(callLog, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AwsCallRecord);
}

describe('storage.copies: a verified second copy in another bucket and region', { timeout: 600_000 }, () => {
  let kmsKeyId: string;
  let offsiteBucket: string;
  let worker: TestWorker;
  const kms = new KMSClient({ region: COPY_REGION });
  const clusters: Record<string, ClusterConfig> = {};

  before(async () => {
    const key = await kms.send(new CreateKeyCommand({ Description: 'vsnap copies test' }));
    kmsKeyId = key.KeyMetadata!.KeyId!;
    offsiteBucket = await copyBucket();
    const offsite = (prefix?: string): StorageCopyConfig => ({
      name: 'offsite',
      bucket: offsiteBucket,
      region: COPY_REGION,
      kmsKeyId,
      ...(prefix ? { prefix } : {}),
    });
    clusters.verified = clusterWithCopies('copies-verified', [offsite()]);
    clusters.missing = clusterWithCopies('copies-missing', [
      { name: 'broken', bucket: `vsnap-test-missing-${randomUUID().slice(0, 8)}`, region: COPY_REGION },
      offsite(`test/${randomUUID().slice(0, 8)}/second`),
    ]);
    clusters.role = clusterWithCopies('copies-role', [{ ...offsite(), name: 'other-account', roleArn: COPY_ROLE }]);
    clusters.retention = clusterWithCopies('copies-retention', [offsite()], { retention: { keep: 1 } });
    prefixes.push(clusters.missing.storage.copies![1].prefix!);
    worker = await startTestWorker({
      clusters: Object.values(clusters),
      env: { VSNAP_AWS_CALL_LOG: callLog },
    });
  });

  after(async () => {
    await worker?.stop();
    for (const prefix of prefixes) {
      const listed = await primary.send(new ListObjectsV2Command({ Bucket: primaryBucket, Prefix: `${prefix}/` }));
      const objects = (listed.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (objects.length > 0) {
        await primary.send(new DeleteObjectsCommand({ Bucket: primaryBucket, Delete: { Objects: objects } }));
      }
    }
    for (const bucket of buckets) await removeBucket(bucket).catch(() => undefined);
    if (kmsKeyId) await kms.send(new ScheduleKeyDeletionCommand({ KeyId: kmsKeyId, PendingWindowInDays: 7 }));
    rmSync(dir, { recursive: true, force: true });
  });

  const verifiedBackup = sharedFixture(async () => backupOf(worker, clusters.verified).then((h) => h.result()));

  /** Both objects and both manifests read back: equal bytes, equal SHA-256. */
  async function assertCopyMatches(result: BackupResult, copy: CopyResult): Promise<void> {
    const [source, copied] = await Promise.all([
      bytesOf(primary, primaryBucket, result.key),
      bytesOf(remote, copy.bucket, copy.key),
    ]);
    assert.equal(sha256(copied), sha256(source));
    assert.equal(sha256(copied), result.sha256);
    const [sourceManifest, copiedManifest] = await Promise.all([
      bytesOf(primary, primaryBucket, manifestKeyFor(result.key)),
      bytesOf(remote, copy.bucket, copy.manifestKey),
    ]);
    assert.ok(copiedManifest.equals(sourceManifest), 'the copied manifest is the primary’s, byte for byte');
  }

  test('Copies land verified: same SHA-256 and manifest in the other bucket and region, SSE-KMS with the copy’s key', async () => {
    const result = await verifiedBackup();

    assert.equal(result.copies?.length, 1);
    const [copy] = result.copies;
    assert.equal(copy.status, 'verified', copy.error);
    assert.equal(copy.name, 'offsite');
    assert.equal(copy.bucket, offsiteBucket);
    assert.equal(copy.key, result.key, 'the default prefix is the cluster’s own: same key');
    assert.equal(copy.method, 'server-side');
    assert.equal(copy.sha256, result.sha256);
    await assertCopyMatches(result, copy);
    const head = await remote.send(new HeadObjectCommand({ Bucket: copy.bucket, Key: copy.key }));
    assert.equal(head.ServerSideEncryption, 'aws:kms');
    assert.match(String(head.SSEKMSKeyId), new RegExp(kmsKeyId));
  });

  test('a snapshot above the copy part size is copied with UploadPartCopy ranges, then locked', async () => {
    const lockBucket = await copyBucket({ objectLock: true });
    const cluster = clusterWithCopies('copies-multipart', [
      { name: 'vault', bucket: lockBucket, region: COPY_REGION, objectLock: { mode: 'GOVERNANCE', days: 1 } },
    ]);
    const multipartWorker = await startTestWorker({ clusters: [cluster], copyPartBytes: 5 * MiB });
    try {
      const result = await backupOf(multipartWorker, cluster).then((h) => h.result());

      assert.ok(result.size > 2 * 5 * MiB, `the snapshot (${result.size} bytes) spans 3 parts of 5 MiB`);
      const [copy] = result.copies!;
      assert.equal(copy.status, 'verified', copy.error);
      assert.equal(copy.method, 'multipart');
      await assertCopyMatches(result, copy);
      // moto ignores lock headers on multipart uploads: the lock is PutObjectRetention's.
      const head = await remote.send(new HeadObjectCommand({ Bucket: copy.bucket, Key: copy.key }));
      assert.equal(head.ObjectLockMode, 'GOVERNANCE');
      assert.equal(head.ObjectLockRetainUntilDate?.toISOString(), copy.lockedUntil);
      const inADay = Date.now() + 24 * 3600_000;
      assert.ok(Math.abs(new Date(copy.lockedUntil!).getTime() - inADay) < 10 * 60_000, copy.lockedUntil);
      const manifestHead = await remote.send(new HeadObjectCommand({ Bucket: copy.bucket, Key: copy.manifestKey }));
      assert.equal(manifestHead.ObjectLockMode, 'GOVERNANCE');
    } finally {
      await multipartWorker.stop();
    }
  });

  test('a copy to a bucket that does not exist fails the backup naming the copy; the primary and the other copy are intact', async () => {
    const handle = await backupOf(worker, clusters.missing);

    const failure = await failureOf(handle);
    assert.equal(failure.type, FailureType.CopyFailed);
    assert.match(failure.message, /copy "broken" failed: .*the bucket does not exist/);
    assert.doesNotMatch(failure.message, /copy "offsite"/);
    const [details] = failure.details as [{ key: string; sha256: string; copies: CopyResult[] }];
    await assertValidSnapshot(details.key, details.sha256);
    const manifest = JSON.parse((await bytesOf(primary, primaryBucket, manifestKeyFor(details.key))).toString()) as {
      sha256: string;
    };
    assert.equal(manifest.sha256, details.sha256);
    assert.deepEqual(
      details.copies.map((c) => [c.name, c.status]),
      [
        ['broken', 'failed'],
        ['offsite', 'verified'],
      ],
      'the copy after the failed one is still made',
    );
  });

  test('roleArn: the copy assumes the role, and its S3 calls are made with the role’s credentials', async () => {
    const since = new Date().toISOString();
    const result = await backupOf(worker, clusters.role).then((h) => h.result());

    const [copy] = result.copies!;
    assert.equal(copy.status, 'verified', copy.error);
    await assertCopyMatches(result, copy);
    const calls = readCalls().filter((c) => c.time >= since && c.actor === 'worker copy other-account');
    const assumed = calls.filter((c) => c.service === 'sts' && c.operation === 'AssumeRole');
    assert.equal(assumed.length, 1, 'one AssumeRole, its credentials cached');
    assert.equal(assumed[0].request.RoleArn, COPY_ROLE);
    assert.equal(assumed[0].role, undefined, 'AssumeRole is made with the worker’s own credentials');
    const s3Calls = calls.filter((c) => c.service === 's3');
    const copyObject = s3Calls.find((c) => c.operation === 'CopyObject' && c.request.Key === copy.key);
    assert.ok(copyObject, JSON.stringify(s3Calls.map((c) => c.operation)));
    assert.equal(copyObject.request.CopySource, `${primaryBucket}/${result.key}`);
    assert.ok(
      s3Calls.every((c) => c.role === COPY_ROLE),
      'every S3 call of the copy is made as the role',
    );
  });

  test('retention keeps the copy’s prefix to the cluster’s keep, with the copy’s store', async () => {
    const first = await backupOf(worker, clusters.retention).then((h) => h.result());
    const second = await backupOf(worker, clusters.retention).then((h) => h.result());

    assert.deepEqual(second.retention.deleted, [first.key]);
    assert.deepEqual(second.copies![0].retention?.deleted, [first.copies![0].key]);
    const prefix = clusters.retention.storage.prefix;
    const left = await remote.send(new ListObjectsV2Command({ Bucket: offsiteBucket, Prefix: `${prefix}/` }));
    assert.deepEqual((left.Contents ?? []).map((o) => o.Key).sort(), [second.key, manifestKeyFor(second.key)].sort());
  });

  test('`vsnap snapshots list` shows each snapshot’s copy', async () => {
    const result = await verifiedBackup();
    const configFile = join(dir, 'vsnap.config.json');
    writeFileSync(configFile, JSON.stringify({ clusters: [clusters.verified] }));

    const json = await vsnap(['snapshots', 'list', '--cluster', clusters.verified.name, '--json'], {
      VSNAP_CONFIG: configFile,
    });
    assert.equal(json.code, 0, json.stderr);
    const listed = (JSON.parse(json.stdout) as { snapshots: { key: string; copies: unknown[] }[] }).snapshots;
    assert.deepEqual(listed.find((s) => s.key === result.key)?.copies, [
      { name: 'offsite', bucket: offsiteBucket, key: result.key, present: true, lockedUntil: null },
    ]);

    const table = await vsnap(['snapshots', 'list', '--cluster', clusters.verified.name], {
      VSNAP_CONFIG: configFile,
    });
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /COPIES/);
    const line = table.stdout.split('\n').find((l) => l.startsWith(result.key));
    assert.match(String(line), /\soffsite ✓\s/);
  });
});
