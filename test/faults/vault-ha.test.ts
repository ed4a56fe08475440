// Fault 4: Vault HA. A three-node OpenBao Raft cluster; vsnap is configured with the address of
// a standby. Each node advertises (api_addr) a proxy in front of itself that serves snapshots at
// 1 MiB/s, so a backup is still streaming when the test moves leadership. Must hold: the
// snapshot comes from the active node; when the leader steps down or dies mid-stream, the run
// retries against the new leader and stores a valid snapshot; a sealed node fails clearly.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import type { VaultHttp } from '../../activities/vault/vault-http';
import { FailureType } from '../../workflows/names';
import type { backup } from '../../workflows/backup';
import { assertValidSnapshot, bucket, s3 } from '../helpers/bucket';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy';
import { activityAttempts, failureOf, start, waitForProgress } from '../helpers/runs';
import { startScratchCluster, type ScratchCluster } from '../helpers/scratch-bao';
import { isolatedCluster, startTestWorker, type TestWorker } from '../helpers/stack';
import { until } from '../helpers/worker-process';

const BASE_PORT = 18800;
const nodePort = (i: number) => BASE_PORT + 2 * i;

describe('a three-node OpenBao cluster', () => {
  let proxies: FaultProxy[] = [];
  let ha: ScratchCluster;
  let worker: TestWorker;
  const cluster = isolatedCluster('ha');

  async function leaderIndex(): Promise<number> {
    for (let i = 0; i < ha.nodes.length; i++) {
      const h = await ha.nodes[i].vault.health().catch(() => undefined);
      if (h && !h.sealed && !h.standby) return i;
    }
    return -1;
  }

  /** The leader, once two readings half a second apart agree (elections can flip briefly). */
  async function stableLeader(): Promise<number> {
    let previous = -2;
    let leader = -1;
    await until(
      'a stable leader',
      async () => {
        await new Promise((r) => setTimeout(r, 500));
        leader = await leaderIndex();
        const stable = leader >= 0 && leader === previous;
        previous = leader;
        return stable;
      },
      60_000,
    );
    return leader;
  }

  async function newLeaderOtherThan(old: number): Promise<number> {
    let leader = -1;
    await until('a new leader', async () => ((leader = await leaderIndex()), leader >= 0 && leader !== old), 60_000);
    return leader;
  }

  async function write(vault: VaultHttp, path: string, blob: string): Promise<void> {
    await vault.request('write', { method: 'POST', path, json: { data: { blob } }, token: ha.rootToken });
  }

  before(async () => {
    proxies = await Promise.all(
      [0, 1, 2].map((i) =>
        startFaultProxy(`http://127.0.0.1:${nodePort(i)}`, { throttleSnapshotBytesPerSecond: 1024 * 1024 }),
      ),
    );
    ha = await startScratchCluster({ basePort: BASE_PORT, size: 3, apiAddress: (i) => proxies[i].address });
    // ~12 MiB of secrets (Vault encrypts them, so the snapshot does not compress): ~12 s per
    // stream, more than the loopback socket buffers hold, so killing the leader really cuts it.
    for (let i = 0; i < 24; i++) {
      await write(ha.nodes[0].vault, `/secret/data/bulk/${i}`, Buffer.alloc(384 * 1024, i).toString('base64'));
    }
    // Node 2, a standby, is the configured address.
    worker = await startTestWorker({
      partSizeBytes: 5 * 2 ** 20,
      clusters: [{ ...cluster, address: ha.nodes[2].address, auth: { method: 'token', tokenEnv: 'TEST_HA_TOKEN' } }],
      env: { TEST_HA_TOKEN: ha.rootToken },
    });
  });
  after(async () => {
    await worker?.stop();
    await ha?.stop();
    await Promise.all(proxies.map((p) => p.close()));
  });

  test('configured with a standby, the snapshot comes from the active node', async () => {
    assert.equal(await leaderIndex(), 0);
    const result = await (await start<typeof backup>(worker, 'backup', { cluster: cluster.name })).result();
    assert.ok(result.size > 5 * 2 ** 20, `${result.size} bytes`);
    assert.deepEqual(
      proxies.map((p) => p.snapshotRequests),
      [1, 0, 0],
      'one snapshot, from the leader',
    );
    await assertValidSnapshot(result.key, result.sha256);
  });

  /** Starts a backup and waits until the leader is ~1.5 MiB into streaming the snapshot. */
  async function backupMidStream(leader: number) {
    const before = proxies[leader].snapshotRequests;
    const handle = await start<typeof backup>(worker, 'backup', { cluster: cluster.name });
    await waitForProgress<{ step: string }>(handle, (p) => p.step === 'snapshot');
    await until('the stream started', () => Promise.resolve(proxies[leader].snapshotRequests > before), 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    return handle;
  }

  /**
   * The snapshot(s) since `before` came from `leader` only. The configured node (2) is reached at
   * its own address when it is the leader, so its proxy counts nothing then.
   */
  function assertServedBy(leader: number, before: number[]): void {
    const served = proxies.map((p, i) => p.snapshotRequests - before[i]);
    const expected = [0, 1, 2].map((i) => (i === leader && leader !== 2 ? served[i] : 0));
    assert.deepEqual(served, expected, `snapshot requests per node's proxy since the move; leader is node ${leader}`);
    if (leader !== 2) assert.ok(served[leader] >= 1, `node ${leader}, the new leader, served the snapshot`);
  }

  async function assertStoredAndClean(result: { key: string; sha256: string }): Promise<void> {
    await assertValidSnapshot(result.key, result.sha256);
    const uploads = await s3.send(
      new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${cluster.storage.prefix}/` }),
    );
    assert.deepEqual(uploads.Uploads ?? [], [], 'no multipart upload left open');
  }

  test('the leader steps down mid-stream: the run completes; the next backup comes from the leader elected then', async () => {
    const old = await stableLeader();
    const handle = await backupMidStream(old);
    await ha.nodes[old].vault.request('step-down', { method: 'PUT', path: '/sys/step-down', token: ha.rootToken });
    // Raft may elect any node next, the one that stepped down included.
    // OpenBao finishes a snapshot stream it already started after stepping down: the snapshot
    // was taken from its state before the step-down. Either way the stored object must be valid.
    await assertStoredAndClean(await handle.result());
    const leader = await stableLeader();
    const before = proxies.map((p) => p.snapshotRequests);
    const next = await (await start<typeof backup>(worker, 'backup', { cluster: cluster.name })).result();
    assertServedBy(leader, before);
    await assertStoredAndClean(next);
  });

  test('the leader is killed mid-stream: the run retries against the new leader and succeeds', async () => {
    // The configured node (2) must survive to name the new leader: if it leads, move leadership.
    let old = await stableLeader();
    for (let tries = 0; old === 2 && tries < 3; tries++) {
      await ha.nodes[2].vault.request('step-down', { method: 'PUT', path: '/sys/step-down', token: ha.rootToken });
      await newLeaderOtherThan(2);
      old = await stableLeader();
    }
    assert.notEqual(old, 2, 'the configured node stays a standby');
    const handle = await backupMidStream(old);
    const before = proxies.map((p) => p.snapshotRequests);
    ha.nodes[old].process.kill('SIGKILL');
    await newLeaderOtherThan(old);
    const result = await handle.result();
    const attempts = await activityAttempts(handle);
    assert.ok(attempts.streamSnapshotToS3 >= 2, `the stream was retried: ${JSON.stringify(attempts)}`);
    // Leadership may still move while the retry runs, so only the dead node is pinned down.
    assert.equal(proxies[old].snapshotRequests, before[old], 'the dead leader served no retry');
    await assertStoredAndClean(result);
  });

  test('with the configured node sealed, the run fails with VaultSealed and names the fix', async () => {
    const configured = ha.nodes[2];
    await configured.vault.request('seal', { method: 'PUT', path: '/sys/seal', token: ha.rootToken });
    const failure = await failureOf(await start<typeof backup>(worker, 'backup', { cluster: cluster.name }));
    assert.equal(failure.type, FailureType.VaultSealed);
    assert.match(failure.message, /sealed.*unseal/);
  });
});
