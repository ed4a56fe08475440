// `vsnap snapshots list|inspect` against the real stack: the real CLI binary (bin/vsnap.js, as
// an operator runs it) reading what a real backup wrote to S3. The cluster is prod under a
// prefix of its own, named in a config file written for the CLI. No restore runs here.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { snapshotKeyFor, verificationKeyFor } from '../../activities/storage/snapshot-keys';
import { SnapshotStore } from '../../activities/storage/snapshot-store';
import type { backup, BackupResult } from '../../workflows/backup';
import { WorkflowType } from '../../workflows/names';
import type { VerificationRecord } from '../../workflows/restore-types';
import { start } from '../helpers/runs';
import { isolatedCluster, repoRoot, s3Client, stackEnv, startTestWorker, type TestWorker } from '../helpers/stack';

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

interface ListedSnapshot {
  key: string;
  complete: boolean;
  size: number;
  sha256: string | null;
  raftIndex: number | null;
  verification: VerificationRecord | null;
}

interface Inspection {
  valid: boolean;
  sha256: string;
  size: number;
  raft: { index: number; term: number; version: number; configurationIndex: number; size: number };
  manifest: { present: boolean; matches: boolean };
  keys: { totalKeys: number; byPrefix: { prefix: string; count: number }[] };
}

const s3 = s3Client();
const bucket = stackEnv.VSNAP_BUCKET;
const cluster = isolatedCluster('prod');
const prefix = cluster.storage.prefix;
const dir = mkdtempSync(join(tmpdir(), 'vsnap-snapshots-cli-'));
const configFile = join(dir, 'vsnap.config.json');

/** Runs `node bin/vsnap.js ARGS` with the stack's env and the test's config; resolves with its exit code. */
function vsnap(args: string[], env: NodeJS.ProcessEnv = { VSNAP_CONFIG: configFile }): Promise<CliRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...stackEnv, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'bin', 'vsnap.js'), ...args],
      { cwd: repoRoot, env: childEnv, timeout: 120_000 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') reject(new Error(`cannot run bin/vsnap.js: ${err.message}`));
        else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
      },
    );
  });
}

async function listJson(): Promise<ListedSnapshot[]> {
  const run = await vsnap(['snapshots', 'list', '--cluster', cluster.name, '--json']);
  assert.equal(run.code, 0, run.stderr);
  return (JSON.parse(run.stdout) as { snapshots: ListedSnapshot[] }).snapshots;
}

describe('vsnap snapshots (real CLI, real stack)', { timeout: 300_000 }, () => {
  let worker: TestWorker;
  let result: BackupResult;

  before(async () => {
    writeFileSync(configFile, JSON.stringify({ clusters: [cluster] }, null, 2));
    worker = await startTestWorker({ clusters: [cluster] });
    const handle = await start<typeof backup>(worker, WorkflowType.backup, { cluster: cluster.name });
    result = await handle.result();
  });

  after(async () => {
    await worker?.stop();
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/` }));
    const objects = (listed.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (objects.length > 0) await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
    rmSync(dir, { recursive: true, force: true });
  });

  test('list --json has the backup with the SHA-256, size and Raft index the backup returned', async () => {
    const snapshots = await listJson();

    const listed = snapshots.find((s) => s.key === result.key);
    assert.ok(listed, `${result.key} is missing from ${JSON.stringify(snapshots.map((s) => s.key))}`);
    assert.equal(listed.complete, true);
    assert.equal(listed.sha256, result.sha256);
    assert.equal(listed.size, result.size);
    assert.equal(listed.raftIndex, result.raftIndex);
    assert.equal(listed.verification, null);
  });

  test("list shows a drill's verdict and a snapshot without a manifest as incomplete", async () => {
    const verifiedAt = new Date().toISOString();
    const record: VerificationRecord = {
      verifiedAt,
      passed: true,
      workflowId: 'verify-test-record',
      target: 'drill',
      checks: [],
    };
    await new SnapshotStore(s3).putRecord(bucket, verificationKeyFor(result.key), record);
    // An object whose backup never wrote a manifest, an hour older than the real one.
    const incompleteKey = snapshotKeyFor(prefix, new Date(Date.now() - 3600_000));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: incompleteKey, Body: 'not a snapshot' }));
    try {
      await assertListShowsVerdictAndIncomplete(verifiedAt, incompleteKey);
    } finally {
      // The other tests see the bucket as the backup left it, whatever order they run in.
      await s3.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: [{ Key: verificationKeyFor(result.key) }, { Key: incompleteKey }] },
        }),
      );
    }
  });

  async function assertListShowsVerdictAndIncomplete(verifiedAt: string, incompleteKey: string): Promise<void> {
    const snapshots = await listJson();
    assert.deepEqual(
      snapshots.map((s) => s.key),
      [result.key, incompleteKey],
      'newest first',
    );
    assert.equal(snapshots[0].verification?.passed, true);
    assert.equal(snapshots[0].verification?.verifiedAt, verifiedAt);
    assert.equal(snapshots[1].complete, false);
    assert.equal(snapshots[1].sha256, null);

    const table = await vsnap(['snapshots', 'list', '--cluster', cluster.name]);
    assert.equal(table.code, 0, table.stderr);
    const backupLine = table.stdout.split('\n').find((l) => l.startsWith(result.key));
    assert.ok(backupLine, table.stdout);
    assert.ok(backupLine.includes(result.sha256.slice(0, 12)), backupLine);
    assert.ok(!backupLine.includes(result.sha256), `the table shortens the SHA-256: ${backupLine}`);
    assert.match(backupLine, new RegExp(`\\s${result.raftIndex}\\s+passed ${verifiedAt.slice(0, 10)}`));
    const incompleteLine = table.stdout.split('\n').find((l) => l.startsWith(incompleteKey));
    assert.ok(incompleteLine, table.stdout);
    assert.match(incompleteLine, /\s1h0m\s.*incomplete \(no manifest\)$/);
  }

  test('inspect KEY validates the stored archive and counts its keys by prefix', async () => {
    const run = await vsnap(['snapshots', 'inspect', result.key, '--cluster', cluster.name, '--json']);

    assert.equal(run.code, 0, run.stderr);
    const inspection = JSON.parse(run.stdout) as Inspection;
    assert.equal(inspection.valid, true);
    assert.equal(inspection.sha256, result.sha256);
    assert.equal(inspection.size, result.size);
    assert.equal(inspection.raft.index, result.raftIndex);
    assert.equal(inspection.raft.term, result.raftTerm);
    assert.equal(inspection.manifest.present, true);
    assert.equal(inspection.manifest.matches, true);
    const logical = inspection.keys.byPrefix.filter((p) => /^logical\/[0-9a-f-]{36}$/.test(p.prefix));
    assert.ok(logical.length > 0, `no logical/<uuid> prefix in ${JSON.stringify(inspection.keys.byPrefix)}`);
    assert.ok(inspection.keys.byPrefix.some((p) => p.prefix === 'core/mounts'));
    const total = inspection.keys.byPrefix.reduce((n, p) => n + p.count, 0);
    assert.equal(total, inspection.keys.totalKeys);
    const counts = inspection.keys.byPrefix.map((p) => p.count);
    assert.deepEqual(
      counts,
      [...counts].sort((a, b) => b - a),
      'sorted by count, largest first',
    );

    // The human form, with the key given as a bare file name under the cluster's prefix.
    const text = await vsnap(['snapshots', 'inspect', basename(result.key), '--cluster', cluster.name]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^Index\\s+${result.raftIndex}$`, 'm'));
    assert.match(text.stdout, new RegExp(`^SHA-256\\s+${result.sha256}$`, 'm'));
    assert.match(text.stdout, /^logical\/[0-9a-f-]{36}\s+\d+$/m);
  });

  test('inspect of a truncated local copy exits 1 naming the file and the problem', async () => {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: result.key }));
    const bytes = Buffer.from(await res.Body!.transformToByteArray());
    const file = join(dir, 'truncated.snap');
    writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));

    const run = await vsnap(['snapshots', 'inspect', file]);

    assert.equal(run.code, 1, `stdout: ${run.stdout}\nstderr: ${run.stderr}`);
    assert.match(run.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*truncated`));
  });

  test('inspect of a key that does not exist exits 1', async () => {
    const run = await vsnap(['snapshots', 'inspect', `${prefix}/2001-01-01T00-00-00.000Z.snap`]);

    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /no such object/);
  });

  test('bad usage exits 2 and says what to fix', async () => {
    const unknown = await vsnap(['snapshots', 'frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown subcommand "frobnicate" \(expected list, inspect or download\)/);

    const noKey = await vsnap(['snapshots', 'inspect']);
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /give exactly one KEY or FILE/);

    const noFile = await vsnap(['snapshots', 'download', basename(result.key)]);
    assert.equal(noFile.code, 2);
    assert.match(noFile.stderr, /download: give a KEY and a FILE/);

    const forceList = await vsnap(['snapshots', 'list', '--force']);
    assert.equal(forceList.code, 2);
    assert.match(forceList.stderr, /list: --force applies to download only/);

    const noCluster = await vsnap(['snapshots', 'list', '--cluster', 'nope']);
    assert.equal(noCluster.code, 2);
    assert.match(noCluster.stderr, /unknown cluster "nope"; configured clusters: prod/);

    const noConfig = await vsnap(['snapshots', 'list'], { VSNAP_CONFIG: undefined, BUCKET_NAME: undefined });
    assert.equal(noConfig.code, 2);
    assert.match(noConfig.stderr, /VSNAP_CONFIG is not set.*export VSNAP_CONFIG=/);
  });
});
