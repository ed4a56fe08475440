// Restores and drills that fall back to a copy (storage.copies), through the real CLI and a real
// worker, on the stack's moto. The test makes the copy itself: back up prod into a bucket of its
// own, then copy the snapshot and its manifest into a second bucket in another region. The
// worker reaches S3 through a proxy that can make the primary's bucket unreachable while the
// copy's, on the same endpoint, still answers.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { keyAtPrefix, manifestKeyFor } from '../../activities/storage/snapshot-keys';
import { loadConfig } from '../../worker/config';
import { FailureType } from '../../workflows/names';
import { formatReport } from '../../workflows/report-text';
import type { restore } from '../../workflows/restore';
import type { RestoreReport } from '../../workflows/restore-types';
import { vsnap } from '../helpers/cli';
import { markDrill } from '../helpers/drill';
import { startFlakyS3, type FlakyS3 } from '../helpers/flaky-s3';
import { failureOf, start } from '../helpers/runs';
import { stackEnv, startTestWorker, type TestWorker } from '../helpers/stack';

const COPY_REGION = 'eu-central-1';
const PROXY_PORT = 20711;

describe('restores and drills from a copy (real CLI, real worker)', () => {
  const id = randomUUID().slice(0, 8);
  const primaryBucket = `vsnap-b2-primary-${id}`;
  const copyBucket = `vsnap-b2-offsite-${id}`;
  const prefix = `test/${id}/prod`;
  // The copy under a prefix of its own: its manifest, copied byte for byte, still names the primary's key.
  const copyPrefix = `dr/${id}/prod`;
  const primaryS3 = new S3Client({ forcePathStyle: true });
  const copyS3 = new S3Client({ forcePathStyle: true, region: COPY_REGION });
  const dir = mkdtempSync(join(tmpdir(), 'vsnap-b2-'));
  const configFile = join(dir, 'vsnap.config.json');
  let proxy: FlakyS3;
  let worker: TestWorker;
  let key: string;
  let copyKey: string;
  let cli: (args: string[]) => ReturnType<typeof vsnap>;

  const bytesOf = async (s3: S3Client, bucket: string, k: string) => {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: k }));
    return Buffer.from(await res.Body!.transformToByteArray());
  };
  /** Overwrites a stored snapshot with one byte flipped in its middle; its manifest stays. */
  const flipByte = async (s3: S3Client, bucket: string, k: string) => {
    const bytes = await bytesOf(s3, bucket, k);
    bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: bytes }));
  };
  const restoreReport = (stdout: string) => (JSON.parse(stdout) as { result: RestoreReport }).result;

  before(async () => {
    await primaryS3.send(new CreateBucketCommand({ Bucket: primaryBucket }));
    await copyS3.send(
      new CreateBucketCommand({ Bucket: copyBucket, CreateBucketConfiguration: { LocationConstraint: COPY_REGION } }),
    );
    // The stack's config, with prod in a bucket of this test's and one copy off-site.
    const config = JSON.parse(readFileSync(stackEnv.VSNAP_CONFIG, 'utf8')) as {
      clusters: { name: string; storage: Record<string, unknown> }[];
    };
    const prod = config.clusters.find((c) => c.name === 'prod')!;
    prod.storage = { ...prod.storage, bucket: primaryBucket, prefix };
    // The backup runs without the copy: this test makes the copy itself, not the backup's copy step.
    writeFileSync(configFile, JSON.stringify(config));
    const backupWorker = await startTestWorker({
      clusters: loadConfig({ ...process.env, VSNAP_CONFIG: configFile }).clusters,
    });
    const backup = await vsnap([
      'backup',
      '--cluster',
      'prod',
      '--wait',
      '--json',
      '--task-queue',
      backupWorker.taskQueue,
    ]);
    await backupWorker.stop();
    assert.equal(backup.code, 0, backup.stderr);
    key = (JSON.parse(backup.stdout) as { result: { key: string } }).result.key;

    copyKey = keyAtPrefix(copyPrefix, key);
    prod.storage.copies = [{ name: 'offsite', bucket: copyBucket, region: COPY_REGION, prefix: copyPrefix }];
    writeFileSync(configFile, JSON.stringify(config));
    const { clusters } = loadConfig({ ...process.env, VSNAP_CONFIG: configFile });
    proxy = await startFlakyS3(stackEnv.AWS_ENDPOINT_URL, { every: Infinity, port: PROXY_PORT });
    worker = await startTestWorker({ clusters, s3Endpoint: proxy.address });
    cli = (args) => vsnap([...args, '--task-queue', worker.taskQueue], { VSNAP_CONFIG: configFile });

    for (const [from, to] of [
      [key, copyKey],
      [manifestKeyFor(key), manifestKeyFor(copyKey)],
    ]) {
      const body = await bytesOf(primaryS3, primaryBucket, from);
      await copyS3.send(new PutObjectCommand({ Bucket: copyBucket, Key: to, Body: body }));
    }
  });

  after(async () => {
    await worker?.stop();
    await proxy?.close();
    for (const [s3, bucket] of [
      [primaryS3, primaryBucket],
      [copyS3, copyBucket],
    ] as const) {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket })).catch(() => undefined);
      const objects = (listed?.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (objects.length) await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
      await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('--from offsite restores from the copy even when the primary is fine', async () => {
    const res = await cli(['restore', '--target', 'drill', '--from', 'offsite', '--json']);
    assert.equal(res.code, 0, res.stderr);
    const report = restoreReport(res.stdout);
    console.log(formatReport(report));
    assert.equal(report.passed, true, JSON.stringify(report.checks));
    assert.equal(report.key, key);
    assert.deepEqual(report.readFrom, {
      from: 'offsite',
      location: 'offsite',
      bucket: copyBucket,
      key: copyKey,
      skipped: [],
    });
    assert.match(formatReport(report), new RegExp(`source: copy "offsite" s3://${copyBucket}/`));
  });

  test('Fallback on an unreachable primary: restore --from any completes from the copy', async () => {
    proxy.unreachableBuckets.add(primaryBucket);
    try {
      const res = await cli(['restore', '--target', 'drill', '--from', 'any', '--json']);
      assert.equal(res.code, 0, res.stderr);
      const report = restoreReport(res.stdout);
      console.log(formatReport(report));
      assert.equal(report.passed, true, JSON.stringify(report.checks));
      assert.equal(report.readFrom?.location, 'offsite');
      assert.equal(report.readFrom?.skipped.length, 1, JSON.stringify(report.readFrom));
      assert.equal(report.readFrom?.skipped[0].name, 'primary');
      assert.match(report.readFrom.skipped[0].problem, /^unreachable/);
      assert.match(formatReport(report), /source: copy "offsite" .*\(primary: unreachable/);
    } finally {
      proxy.unreachableBuckets.delete(primaryBucket);
    }
  });

  test('A damaged primary is rejected: verify --from any passes from the copy and names the damage', async () => {
    await flipByte(primaryS3, primaryBucket, key);
    const res = await cli(['verify', '--cluster', 'prod', '--from', 'any', '--json']);
    assert.equal(res.code, 0, res.stderr);
    const report = restoreReport(res.stdout);
    console.log(formatReport(report));
    assert.equal(report.passed, true, JSON.stringify(report.checks));
    assert.equal(report.readFrom?.location, 'offsite');
    assert.deepEqual(
      report.readFrom?.skipped.map((s) => s.name),
      ['primary'],
    );
    assert.match(report.readFrom.skipped[0].problem, /^damaged — /);
    assert.match(formatReport(report), /\(primary: damaged — /);
  });

  test('every location damaged: restore --from any fails naming each, and drill is unchanged', async () => {
    await flipByte(copyS3, copyBucket, copyKey);
    const marker = await markDrill();
    const res = await cli(['restore', '--target', 'drill', '--from', 'any']);
    console.log(res.stderr.trim());
    assert.equal(res.code, 1, res.stdout);
    assert.match(res.stderr, /SnapshotUnavailable/);
    assert.match(res.stderr, /primary: damaged — .*copy "offsite": damaged — /);
    await marker.assertUnchanged();
  });

  test('bad "from" names are refused before anything starts', async () => {
    const cliRes = await cli(['restore', '--target', 'drill', '--from', 'offsite2']);
    console.log(cliRes.stderr.trim());
    assert.equal(cliRes.code, 2, cliRes.stderr);
    assert.match(cliRes.stderr, /"from" "offsite2" is not a copy of prod; copies: offsite/);
    const syntax = await cli(['verify', '--cluster', 'prod', '--from', 'Off Site']);
    assert.equal(syntax.code, 2, syntax.stderr);
    assert.match(syntax.stderr, /"from" must be "primary", "any" or the name of a copy/);

    // As the Temporal UI starts it: plain JSON, no CLI in between.
    const marker = await markDrill();
    const unknown = await failureOf(
      await start<typeof restore>(worker, 'restore', { target: 'drill', from: 'offsite2' }),
    );
    assert.equal(unknown.type, FailureType.InvalidInput);
    assert.match(unknown.message, /"from" "offsite2" is not a copy of prod; copies: offsite/);
    const malformed = await failureOf(
      await start<typeof restore>(worker, 'restore', { target: 'drill', from: 42 as never }),
    );
    assert.equal(malformed.type, FailureType.InvalidInput);
    assert.match(malformed.message, /"from" must be/);
    await marker.assertUnchanged();
  });
});
