// Break-glass restore with Temporal out of reach. A real worker backs up a Shamir cluster (a
// scratch server, so the test knows its keys) and is stopped; then the README's break-glass ```sh
// blocks run as written, in order, in one bash, with only `aws` (the stack's moto) and `vault`
// (the bao binary) on hand and TEMPORAL_ADDRESS pointing at a closed port. They restore the
// latest backup into a second Shamir scratch cluster, unseal it with the source's keys, generate
// a root token that reads a secret the source held, and revoke it. ```console blocks are
// examples, not steps, and are not run. Then `vsnap snapshots download`, the one-command
// alternative, also with Temporal out of reach: a good copy matches its manifest, a tampered
// object leaves no file at all. Nothing of the shared stack is stopped or restored into.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { SnapshotManifest } from '../../activities/storage/manifest';
import { manifestKeyFor } from '../../activities/storage/snapshot-keys';
import type { BackupResult } from '../../workflows/backup';
import { vsnap } from '../helpers/cli';
import { stackProdEntry } from '../helpers/ephemeral';
import { startScratchCluster, type ScratchCluster } from '../helpers/scratch-bao';
import { bao, repoRoot, s3Client, stackEnv } from '../helpers/stack';
import { makeTestCertificate } from '../helpers/test-ca';
import { startWorkerProcess, type WorkerProcess, workerStarted, writeWorkflowBundle } from '../helpers/worker-process';

const RUNBOOK_HEADING = '## Break glass: restoring without Temporal\n';
/** Nothing listens here: every command below that tried Temporal would fail. */
const CLOSED_TEMPORAL = '127.0.0.1:20299';
const SOURCE = 'break-glass-source';

const s3 = s3Client();
const bucket = stackEnv.VSNAP_BUCKET;

/** The runbook's steps: the ```sh blocks of the README's break-glass section, in document order. */
function runbookSteps(): string[] {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf(RUNBOOK_HEADING);
  assert.ok(start >= 0, `README.md has no section "${RUNBOOK_HEADING.trim()}"`);
  const end = readme.indexOf('\n## ', start + RUNBOOK_HEADING.length);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function objectBytes(key: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

function assertNothingListens(address: string): Promise<void> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      reject(new Error(`something listens on ${address}; the test needs it closed`));
    });
    socket.once('error', () => resolve());
  });
}

function runBash(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', script], { env, timeout: 90_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('break-glass restore with Temporal out of reach', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsnap-break-glass-'));
  const root = `test/${randomUUID().slice(0, 8)}`;
  const prefix = `${root}/${SOURCE}`;
  const taskQueue = `vsnap-break-glass-test-${randomUUID().slice(0, 8)}`;
  const configFile = join(dir, 'vsnap.config.json');
  const knownSecret = randomUUID();
  let source: ScratchCluster | undefined;
  let target: ScratchCluster | undefined;
  let worker: WorkerProcess | undefined;
  let backup: BackupResult;
  let caFile: string;
  /** The CLI as an operator runs it, with the test's config and Temporal out of reach. */
  const cli = (args: string[]) => vsnap(args, { VSNAP_CONFIG: configFile, TEMPORAL_ADDRESS: CLOSED_TEMPORAL });

  before(async () => {
    await assertNothingListens(CLOSED_TEMPORAL);
    const tls = makeTestCertificate(join(dir, 'ca'));
    caFile = tls.caFile;
    // The same Shamir split on both: the target will hold the source's keyring and seal config.
    const keyShares = { shares: 3, threshold: 2 };
    [source, target] = await Promise.all([
      startScratchCluster({ basePort: 20200, keyShares, tls }),
      startScratchCluster({ basePort: 20210, keyShares, tls }),
    ]);
    await source.nodes[0].vault.request('write a known secret', {
      method: 'POST',
      path: '/secret/data/break-glass/known',
      json: { data: { value: knownSecret } },
      token: source.rootToken,
    });

    const storage = { ...(stackProdEntry().storage as Record<string, unknown>), prefix };
    const cluster = {
      name: SOURCE,
      address: source.nodes[0].address,
      caCertFile: tls.caFile,
      auth: { method: 'token', tokenEnv: 'TEST_BREAK_GLASS_TOKEN' },
      storage,
      protected: false,
    };
    writeFileSync(configFile, JSON.stringify({ clusters: [cluster] }, null, 2));
    worker = startWorkerProcess({
      VSNAP_TASK_QUEUE: taskQueue,
      VSNAP_CONFIG: configFile,
      VSNAP_WORKFLOW_BUNDLE: await writeWorkflowBundle(dir),
      TEST_BREAK_GLASS_TOKEN: source.rootToken,
    });
    await workerStarted(worker);
    const run = await vsnap(['backup', '--cluster', SOURCE, '--wait', '--json', '--task-queue', taskQueue], {
      VSNAP_CONFIG: configFile,
    });
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    backup = (JSON.parse(run.stdout) as { result: BackupResult }).result;
    // From here on there is no worker, and Temporal is out of reach of every command.
    worker.child.kill('SIGTERM');
    await worker.exited;
    worker = undefined;
  });

  after(async () => {
    worker?.child.kill('SIGTERM');
    await worker?.exited;
    await Promise.all([source?.stop(), target?.stop()]);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${root}/` }));
    const objects = (listed.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (objects.length > 0) await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
    rmSync(dir, { recursive: true, force: true });
  });

  test("the runbook's commands alone restore the latest backup into another Shamir cluster, unseal it with the source's keys, and revoke the root token they generated", async () => {
    const steps = runbookSteps();
    assert.ok(steps.length >= 8, `the README's break-glass section has ${steps.length} sh blocks`);
    assert.doesNotMatch(steps.join('\n'), /(^|[|;&(]\s*)(vsnap|temporal)\s/m, 'no step runs vsnap or temporal');
    const revokeStep = steps.findIndex((s) => s.includes('vault token revoke -self'));
    assert.ok(revokeStep > 0, 'a step revokes the root token');

    // `vault` is the bao binary and `aws` the stack's AWS CLI; nothing else of the test's
    // environment (no BAO_* variable, no vsnap config) reaches the shell.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(bao, join(bin, 'vault'));
    symlinkSync(join(repoRoot, '.tools', 'venv', 'bin', 'aws'), join(bin, 'aws'));
    const keySharesFile = join(dir, 'key-shares');
    writeFileSync(keySharesFile, source!.keys.join('\n') + '\n', { mode: 0o600 });
    const probe = join(dir, 'probe');
    mkdirSync(probe);
    const env: NodeJS.ProcessEnv = {
      PATH: `${bin}:${process.env.PATH}`,
      HOME: dir,
      LANG: 'C.UTF-8',
      AWS_ENDPOINT_URL: stackEnv.AWS_ENDPOINT_URL,
      AWS_REGION: stackEnv.AWS_REGION,
      AWS_ACCESS_KEY_ID: stackEnv.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: stackEnv.AWS_SECRET_ACCESS_KEY,
      TEMPORAL_ADDRESS: CLOSED_TEMPORAL,
      BUCKET: bucket,
      PREFIX: prefix,
      VAULT_ADDR: target!.nodes[0].address,
      VAULT_NODES: target!.nodes[0].address,
      VAULT_CACERT: caFile,
      VAULT_TOKEN: target!.rootToken,
      KEY_SHARES_FILE: keySharesFile,
      WORK: join(dir, 'work'),
    };
    // Before the revocation, the test notes the generated token and reads the known secret with it.
    const noteToken = [
      `printf '%s' "$VAULT_TOKEN" > '${probe}/root-token'`,
      `vault kv get -field=value secret/break-glass/known > '${probe}/known-secret'`,
    ].join('\n');
    const script = ['set -euo pipefail', ...steps.slice(0, revokeStep), noteToken, ...steps.slice(revokeStep)];

    const run = await runBash(script.join('\n'), env);

    assert.equal(run.code, 0, `the runbook failed:\n${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, new RegExp(`snapshot: s3://${bucket}/${backup.key.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(run.stdout, /^raft\.snap: OK$/m);
    assert.match(run.stdout, new RegExp(`^canary secret/check_timestamp = ${backup.canaryValue}, as recorded`, 'm'));
    assert.equal(readFileSync(join(probe, 'known-secret'), 'utf8'), knownSecret);
    const generated = readFileSync(join(probe, 'root-token'), 'utf8');
    assert.ok(generated && ![source!.rootToken, target!.rootToken].includes(generated), 'a token generate-root made');

    const vault = target!.nodes[0].vault;
    const works = (token: string) =>
      vault.request('lookup', { method: 'GET', path: '/auth/token/lookup-self', token }).then(
        () => true,
        () => false,
      );
    assert.equal((await vault.health()).sealed, false);
    assert.equal(await works(generated), false, 'the generated root token is revoked');
    assert.equal(await works(target!.rootToken), false, "the target's own tokens went with the restore");
    assert.equal(await works(source!.rootToken), true, "the target has the source's tokens");
    const attempt = await vault.request<{ started: boolean }>('generate-root status', {
      method: 'GET',
      path: '/sys/generate-root/attempt',
    });
    assert.equal(attempt.started, false, 'no generate-root attempt is left open');
  });

  test('`vsnap snapshots download`, Temporal out of reach: the file matches the manifest, and is never replaced without --force', async () => {
    const downloads = mkdtempSync(join(dir, 'download-'));
    const file = join(downloads, 'raft.snap');

    const run = await cli(['snapshots', 'download', basename(backup.key), file, '--cluster', SOURCE, '--json']);

    assert.equal(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout) as { verified: boolean; file: string; sha256: string; size: number };
    assert.deepEqual(
      { verified: out.verified, file: out.file, sha256: out.sha256, size: out.size },
      { verified: true, file, sha256: backup.sha256, size: backup.size },
    );
    const bytes = readFileSync(file);
    assert.equal(sha256(bytes), backup.sha256, "the file's SHA-256 is the manifest's");
    assert.equal(bytes.length, backup.size);
    assert.equal(statSync(file).mode & 0o777, 0o600, 'only its owner may read a snapshot');
    assert.deepEqual(readdirSync(downloads), ['raft.snap'], 'no .partial is left');

    const again = await cli(['snapshots', 'download', backup.key, file]);
    assert.equal(again.code, 2, again.stdout);
    assert.match(again.stderr, /raft\.snap exists; give --force to replace it/);

    const forced = await cli(['snapshots', 'download', backup.key, file, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, new RegExp(`^SHA-256 +${backup.sha256} \\(as the manifest records\\)$`, 'm'));
    assert.match(forced.stdout, new RegExp(`^Raft index +${backup.raftIndex} \\(term ${backup.raftTerm}\\)$`, 'm'));
    assert.deepEqual(readdirSync(downloads), ['raft.snap']);
  });

  test('a tampered object under the original manifest (a byte flipped, or cut short) is refused naming both SHA-256s, and leaves neither FILE nor FILE.partial', async () => {
    const original = await objectBytes(backup.key);
    const manifest = JSON.parse((await objectBytes(manifestKeyFor(backup.key))).toString('utf8')) as SnapshotManifest;
    const flipped = Buffer.from(original);
    flipped[Math.floor(flipped.length / 2)] ^= 0xff;
    const cases: [string, Buffer][] = [
      ['byte-flipped', flipped],
      ['truncated', original.subarray(0, original.length - 1000)],
    ];
    for (const [name, bytes] of cases) {
      const key = `${root}/tampered/${name}/${basename(backup.key)}`;
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: manifestKeyFor(key), Body: JSON.stringify({ ...manifest, key }) }),
      );
      const downloads = mkdtempSync(join(dir, `${name}-`));
      const file = join(downloads, 'raft.snap');

      const run = await cli(['snapshots', 'download', `s3://${bucket}/${key}`, file, '--json']);

      assert.equal(run.code, 1, `${name}: ${run.stdout}`);
      const out = JSON.parse(run.stdout) as {
        verified: boolean;
        expected: { sha256: string; size: number };
        actual: { sha256: string; size: number };
      };
      assert.equal(out.verified, false);
      assert.deepEqual(out.expected, { sha256: backup.sha256, size: backup.size }, name);
      assert.deepEqual(out.actual, { sha256: sha256(bytes), size: bytes.length }, name);
      assert.ok(run.stderr.includes(backup.sha256) && run.stderr.includes(sha256(bytes)), run.stderr);
      assert.match(
        run.stderr,
        /altered or damaged after the backup; also, the snapshot archive is invalid: .*\. The partial download was deleted; .*raft\.snap was not written/,
      );
      assert.deepEqual(readdirSync(downloads), [], `${name}: neither raft.snap nor raft.snap.partial`);
      assert.ok(!existsSync(file));
    }
  });
});
