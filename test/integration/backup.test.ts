// The backup workflow against the real stack: Temporal dev server, OpenBao prod/drill, moto.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { SnapshotArchiveValidator } from '../../activities/archive/snapshot-archive';
import { manifestKeyFor } from '../../activities/storage/snapshot-keys';
import type { SnapshotManifest } from '../../activities/storage/manifest';
import type { backup, BackupResult } from '../../workflows/backup';
import { FailureType } from '../../workflows/names';
import {
  appRoleCredentials,
  bao,
  baoInit,
  findLeakedSecrets,
  isolatedCluster,
  startTestWorker,
  type TestWorker,
  stackVault,
  stackUpstreamTls,
  activeProdNode,
} from '../helpers/stack';
import { assertNothingWritten, bucket, objectBytes, s3, storedEncryption } from '../helpers/bucket';
import { watchCanary } from '../helpers/canary';
import { waitForDrillToServeProd } from '../helpers/drill';
import { activityAttempts, failureOf, sharedFixture, start } from '../helpers/runs';
import { sealStanza } from '../../scripts/stack/seals';
import { startScratchCluster, type ScratchCluster } from '../helpers/scratch-bao';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy';

const run = promisify(execFile);
const PART_SIZE = 5 * 1024 * 1024; // S3's minimum, so small test snapshots still span parts
const prodVault = stackVault('prod');

async function keysUnder(prefix: string): Promise<string[]> {
  const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/` }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}

async function openUploadsUnder(prefix: string): Promise<number> {
  const res = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${prefix}/` }));
  return (res.Uploads ?? []).length;
}

async function canary(): Promise<{ value: string; workflowId: string }> {
  const res = await prodVault.request<{ data: { data: { value: string; workflowId: string } } }>('read canary', {
    method: 'GET',
    path: '/secret/data/check_timestamp',
    token: baoInit('prod').rootToken,
  });
  return res.data.data;
}

describe('backup workflow on the real stack', () => {
  const prodInit = baoInit('prod');
  const main = isolatedCluster('prod');
  const retention = isolatedCluster('prod-retention');
  const badCreds = isolatedCluster('prod-badcreds', {
    auth: {
      method: 'approle',
      mount: 'approle',
      credentials: { source: 'env', roleIdEnv: 'TEST_ROLE_ID', secretIdEnv: 'TEST_SECRET_ID' },
    },
  });
  const noBucket = isolatedCluster('prod-nobucket');
  noBucket.storage = { ...noBucket.storage, bucket: 'vsnap-test-no-such-bucket' };
  let truncated = isolatedCluster('prod-truncated');
  let sealed = isolatedCluster('sealed');
  let standby = isolatedCluster('standby');
  let worker: TestWorker;
  let proxy: FaultProxy;
  let sealedVault: ScratchCluster;
  let haPair: ScratchCluster;
  let scratchTarget: ScratchCluster;

  before(async () => {
    proxy = await startFaultProxy(await activeProdNode(), {
      truncateSnapshotAt: 4096,
      upstreamTls: stackUpstreamTls('prod'),
    });
    truncated = { ...truncated, address: proxy.address };
    [sealedVault, haPair, scratchTarget] = await Promise.all([
      startScratchCluster({ basePort: 18300, unsealed: false }),
      startScratchCluster({ basePort: 18400, size: 2 }),
      // Sealed as prod is (the stack's key service, its static key, or a Shamir split like
      // prod's), so it can take prod's keyring and unseal.
      startScratchCluster(
        prodInit.seal === 'shamir'
          ? { basePort: 18350, keyShares: { shares: prodInit.keys.length, threshold: prodInit.threshold } }
          : { basePort: 18350, autoUnsealStanza: sealStanza(prodInit.seal) },
      ),
    ]);
    sealed = { ...sealed, address: sealedVault.nodes[0].address };
    standby = {
      ...standby,
      address: haPair.nodes[1].address,
      auth: { method: 'token', tokenEnv: 'TEST_HA_TOKEN' },
    };
    worker = await startTestWorker({
      partSizeBytes: PART_SIZE,
      clusters: [main, retention, badCreds, noBucket, truncated, sealed, standby],
      env: {
        TEST_ROLE_ID: appRoleCredentials().roleId,
        TEST_SECRET_ID: '00000000-0000-0000-0000-000000000000',
        TEST_HA_TOKEN: haPair.rootToken,
      },
    });
  });

  after(async () => {
    await worker?.stop();
    await proxy?.close();
    await sealedVault?.stop();
    await haPair?.stop();
    await scratchTarget?.stop();
  });

  const firstBackup = sharedFixture(async () => {
    const handle = await start<typeof backup>(worker, 'backup', { cluster: 'prod' });
    return { handle, result: await handle.result() };
  });

  test('backs up prod: the object matches its manifest, validates, and the canary is in the snapshot', async () => {
    const { handle, result } = await firstBackup();

    assert.match(
      result.key,
      new RegExp(`^${main.storage.prefix}/\\d{4}-\\d{2}-\\d{2}T\\d{2}-\\d{2}-\\d{2}\\.\\d{3}Z\\.snap$`),
    );
    const bytes = await objectBytes(result.key);
    assert.equal(bytes.length, result.size);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), result.sha256);

    const manifest = JSON.parse((await objectBytes(manifestKeyFor(result.key))).toString('utf8')) as SnapshotManifest;
    assert.equal(manifest.sha256, result.sha256);
    assert.equal(manifest.size, result.size);
    assert.equal(manifest.raft.raftIndex, result.raftIndex);
    assert.equal(manifest.workflowId, handle.workflowId);
    assert.equal(manifest.canary.workflowId, handle.workflowId);
    assert.equal(manifest.canary.value, result.canaryValue);

    const validator = new SnapshotArchiveValidator();
    validator.input.end(bytes);
    const facts = await validator.facts;
    assert.equal(facts.raftIndex, result.raftIndex);

    const live = await canary();
    assert.equal(live.workflowId, handle.workflowId);
    assert.equal(Number(live.value), result.canaryValue);

    // Both objects are encrypted at rest with the cluster's KMS key (the store has no KMS on SeaweedFS).
    const kmsKeyId = worker.config.clusters.find((c) => c.name === main.name)!.storage.kmsKeyId;
    if (kmsKeyId) {
      for (const key of [result.key, manifestKeyFor(result.key)]) {
        const sse = await storedEncryption(key);
        assert.equal(sse.algorithm, 'aws:kms', `${key} is stored with SSE-KMS`);
        assert.match(sse.kmsKeyId ?? '', new RegExp(`${kmsKeyId}$`), `${key} is encrypted with the cluster's key`);
      }
    }
  });

  test('the official `bao operator raft snapshot restore -force` restores the uploaded object', async () => {
    const { handle, result } = await firstBackup();
    const file = join(mkdtempSync(join(tmpdir(), 'vsnap-restore-')), 'prod.snap');
    writeFileSync(file, await objectBytes(result.key));
    // A throwaway server of its own, so no other test depends on what this one restored.
    const target = scratchTarget.nodes[0];
    await run(bao, ['operator', 'raft', 'snapshot', 'restore', '-force', file], {
      env: { ...process.env, BAO_ADDR: target.address, BAO_TOKEN: scratchTarget.rootToken },
    });
    await waitForDrillToServeProd(target.vault);
    // The target now holds prod's data, keyring and tokens.
    const token = baoInit('prod').rootToken;
    const seed = await target.vault.request<{ data: { data: Record<string, string> } }>('read seed secret', {
      method: 'GET',
      path: '/secret/data/apps/billing/database',
      token,
    });
    assert.equal(seed.data.data.password, 'seed-billing-db-password');
    const restoredCanary = await target.vault.request<{ data: { data: { value: string; workflowId: string } } }>(
      'read canary',
      { method: 'GET', path: '/secret/data/check_timestamp', token },
    );
    assert.equal(restoredCanary.data.data.workflowId, handle.workflowId);
    assert.equal(Number(restoredCanary.data.data.value), result.canaryValue);
  });

  test('no secret of the stack appears in the workflow history or the worker logs', async () => {
    const { handle } = await firstBackup();
    const history = await handle.fetchHistory();
    const text = JSON.stringify(history) + '\n' + worker.logs.join('\n');
    assert.deepEqual(findLeakedSecrets(text), []);
    assert.ok(
      worker.logs.some((l) => l.includes('snapshot uploaded and recorded')),
      'the worker logged the upload',
    );
  });

  test('wrong AppRole credentials fail at once with VaultAuthFailed, at plan, before the canary is written', async () => {
    const canaryUnchanged = await watchCanary(prodVault, baoInit('prod').rootToken);
    const handle = await start<typeof backup>(worker, 'backup', { cluster: 'prod-badcreds' });
    const failure = await failureOf(handle);
    assert.equal(failure.type, FailureType.VaultAuthFailed);
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /invalid role or secret ID|invalid secret id/i);
    assert.match(failure.message, /TEST_ROLE_ID\/TEST_SECRET_ID/);
    assert.deepEqual(await activityAttempts(handle), { planBackup: 1 }, 'refused at plan, not retried');
    await assertNothingWritten(badCreds.storage.prefix, canaryUnchanged);
  });

  test('a missing bucket fails with BucketNotFound before any side effect', async () => {
    const canaryUnchanged = await watchCanary(prodVault, baoInit('prod').rootToken);
    const handle = await start<typeof backup>(worker, 'backup', { cluster: 'prod-nobucket' });
    const failure = await failureOf(handle);
    assert.equal(failure.type, FailureType.BucketNotFound);
    assert.match(failure.message, /vsnap-test-no-such-bucket/);
    assert.deepEqual(await activityAttempts(handle), { planBackup: 1 }, 'refused at plan, not retried');
    await canaryUnchanged();
  });

  test('a sealed Vault fails with VaultSealed and says to unseal it', async () => {
    const handle = await start<typeof backup>(worker, 'backup', { cluster: 'sealed' });
    const failure = await failureOf(handle);
    assert.equal(failure.type, FailureType.VaultSealed);
    assert.match(failure.message, /sealed.*unseal/);
    assert.deepEqual(await activityAttempts(handle), { planBackup: 1 }, 'refused at plan, not retried');
    await assertNothingWritten(sealed.storage.prefix);
  });

  test('pointed at a standby, a multi-part snapshot still comes whole from the active node', async () => {
    const [active, standbyNode] = haPair.nodes;
    assert.equal((await standbyNode.vault.health()).standby, true);
    // ~12 MiB of incompressible secrets (each under Raft's 1 MiB entry limit): three 5 MiB parts.
    for (let i = 0; i < 24; i++) {
      await active.vault.request('write bulk secret', {
        method: 'POST',
        path: `/secret/data/bulk/${i}`,
        json: { data: { blob: randomBytes(512 * 1024).toString('base64') } },
        token: haPair.rootToken,
      });
    }
    const result = await (await start<typeof backup>(worker, 'backup', { cluster: 'standby' })).result();
    const manifest = JSON.parse((await objectBytes(manifestKeyFor(result.key))).toString('utf8')) as SnapshotManifest;
    assert.equal(manifest.vault.address, standbyNode.address);
    assert.equal(manifest.vault.activeAddress, active.address);
    assert.ok(result.size > 2 * PART_SIZE, `snapshot of ${result.size} bytes spans several parts`);
    const bytes = await objectBytes(result.key);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), result.sha256);
    const validator = new SnapshotArchiveValidator();
    validator.input.end(bytes);
    await validator.facts;
  });

  test('a truncated snapshot stream fails the run and leaves no object and no open multipart upload', async () => {
    const failure = await failureOf(await start<typeof backup>(worker, 'backup', { cluster: 'prod-truncated' }));
    assert.equal(failure.type, FailureType.ArchiveInvalid);
    assert.match(failure.message, /truncated|ends early/);
    assert.equal(proxy.snapshotRequests, 3, 'each of the 3 attempts streamed a fresh snapshot');
    assert.deepEqual(await keysUnder(truncated.storage.prefix), []);
    assert.equal(await openUploadsUnder(truncated.storage.prefix), 0);
  });

  test('retention keeps the newest `keep` snapshots and never deletes the newest valid one', async () => {
    const results: BackupResult[] = [];
    for (let i = 0; i < 3; i++) {
      results.push(
        await (await start<typeof backup>(worker, 'backup', { cluster: 'prod-retention', keep: 2 })).result(),
      );
    }
    const snaps = (await keysUnder(retention.storage.prefix)).filter((k) => k.endsWith('.snap'));
    assert.deepEqual(snaps, [results[1].key, results[2].key]);
    assert.deepEqual(results[2].retention.deleted, [results[0].key]);

    // Even a policy that would expire everything keeps the newest valid snapshot.
    const last = await (
      await start<typeof backup>(worker, 'backup', { cluster: 'prod-retention', keep: 1, maxAgeDays: 0.000001 })
    ).result();
    const left = (await keysUnder(retention.storage.prefix)).filter((k) => k.endsWith('.snap'));
    assert.deepEqual(left, [last.key]);
    assert.deepEqual(await keysUnder(`${retention.storage.prefix}/manifests`), [manifestKeyFor(last.key)]);
  });

  test('bad input fails with InvalidInput naming the field', async () => {
    const failure = await failureOf(await start<typeof backup>(worker, 'backup', { cluster: 'prod', keep: 0 }));
    assert.equal(failure.type, FailureType.InvalidInput);
    assert.match(failure.message, /"keep"/);
  });
});
