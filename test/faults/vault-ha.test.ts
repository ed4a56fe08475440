// Fault 4: Vault HA. A three-node OpenBao Raft cluster; vsnap is configured with the address of
// a standby. Each node advertises (api_addr) a proxy in front of itself that serves snapshots at
// 1 MiB/s, so a backup is still streaming when the test moves leadership, and vsnap reaches the
// configured node through its proxy too, so every snapshot request is counted. Must hold: the
// snapshot comes from the active node; when the leader steps down or dies mid-stream, the run
// retries once, against the new leader only (a standby names the dead leader for seconds after
// it died: vsnap must wait for the election, not stream from the corpse); a sealed node fails
// clearly before any side effect.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { VaultHttp } from '../../activities/vault/vault-http';
import { FailureType } from '../../workflows/names';
import type { backup } from '../../workflows/backup';
import { assertNothingWritten, assertValidSnapshot, openUploads } from '../helpers/bucket';
import { watchCanary } from '../helpers/canary';
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
  const auth = { method: 'token' as const, tokenEnv: 'TEST_HA_TOKEN' };
  const cluster = isolatedCluster('ha');
  const sealedProbe = isolatedCluster('ha-sealed');

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
      120_000,
    );
    return leader;
  }

  async function newLeaderOtherThan(old: number): Promise<number> {
    let leader = -1;
    await until('a new leader', async () => ((leader = await leaderIndex()), leader >= 0 && leader !== old), 120_000);
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
    // Raft's timing at twice its default scale: after the leader dies, the standbys name it as
    // leader for well over the snapshot step's first retry delay (5 s), as a slow network or a
    // loaded cluster makes them do in production. A retry must wait for the election.
    ha = await startScratchCluster({
      basePort: BASE_PORT,
      size: 3,
      apiAddress: (i) => proxies[i].address,
      performanceMultiplier: 10,
    });
    // ~12 MiB of secrets (Vault encrypts them, so the snapshot does not compress): ~12 s per
    // stream, more than the loopback socket buffers hold, so killing the leader really cuts it.
    for (let i = 0; i < 24; i++) {
      await write(ha.nodes[0].vault, `/secret/data/bulk/${i}`, Buffer.alloc(384 * 1024, i).toString('base64'));
    }
    // Node 2, a standby, is the configured address (through its proxy).
    worker = await startTestWorker({
      partSizeBytes: 5 * 2 ** 20,
      clusters: [cluster, sealedProbe].map((c) => ({ ...c, address: proxies[2].address, auth })),
      env: { TEST_HA_TOKEN: ha.rootToken },
    });
  });
  after(async () => {
    await worker?.stop();
    await ha?.stop();
    await Promise.all(proxies.map((p) => p.close()));
  });

  test('configured with a standby, the snapshot comes from the active node', { timeout: 5 * 60_000 }, async () => {
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

  test(
    'with the configured node sealed, the run fails with VaultSealed before any side effect',
    { timeout: 5 * 60_000 },
    async () => {
      // All three nodes live: with node 2 sealed the other two keep a quorum, so a canary could be written.
      const leader = ha.nodes[await stableLeader()];
      await write(leader.vault, '/secret/data/check_timestamp', 'before the run');
      const canaryUnchanged = await watchCanary(leader.vault, ha.rootToken);
      const configured = ha.nodes[2];
      await configured.vault.request('seal', { method: 'PUT', path: '/sys/seal', token: ha.rootToken });
      const handle = await start<typeof backup>(worker, 'backup', { cluster: sealedProbe.name });
      const failure = await failureOf(handle);
      assert.equal(failure.type, FailureType.VaultSealed);
      assert.match(failure.message, /sealed.*unseal/);
      assert.deepEqual(await activityAttempts(handle), { planBackup: 1 }, 'refused at plan, not retried');
      await assertNothingWritten(sealedProbe.storage.prefix, canaryUnchanged);
      for (const key of ha.keys)
        await configured.vault.request('unseal', { method: 'PUT', path: '/sys/unseal', json: { key } });
      await until('node 2 back as a standby', async () => (await configured.vault.health()).standby);
    },
  );

  /** Starts a backup and waits until the leader is ~1.5 MiB into streaming the snapshot. */
  async function backupMidStream(leader: number) {
    const before = proxies[leader].snapshotRequests;
    const handle = await start<typeof backup>(worker, 'backup', { cluster: cluster.name });
    await waitForProgress<{ step: string }>(handle, (p) => p.step === 'snapshot');
    await until('the stream started', () => Promise.resolve(proxies[leader].snapshotRequests > before), 30_000);
    const sent = proxies[leader].snapshotBytesSent;
    await until('1.5 MiB streamed', () => Promise.resolve(proxies[leader].snapshotBytesSent - sent >= 1.5 * 2 ** 20));
    return handle;
  }

  /** Exactly one snapshot request since `before`, served by `leader`. */
  function assertServedOnceBy(leader: number, before: number[]): void {
    const served = proxies.map((p, i) => p.snapshotRequests - before[i]);
    const expected = [0, 1, 2].map((i) => (i === leader ? 1 : 0));
    assert.deepEqual(served, expected, `snapshot requests per node since ${JSON.stringify(before)}; leader: ${leader}`);
  }

  async function assertStoredAndClean(result: { key: string; sha256: string }): Promise<void> {
    await assertValidSnapshot(result.key, result.sha256);
    assert.deepEqual(await openUploads(cluster.storage.prefix), [], 'no multipart upload left open');
  }

  test(
    'the leader steps down mid-stream: the run completes; the next backup comes from the leader elected then',
    { timeout: 5 * 60_000 },
    async () => {
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
      assertServedOnceBy(leader, before);
      await assertStoredAndClean(next);
    },
  );

  test(
    'the leader is killed mid-stream: the run retries against the new leader and succeeds',
    { timeout: 5 * 60_000 },
    async () => {
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
      assert.equal(attempts.streamSnapshotToS3, 2, `one retry, and only one: ${JSON.stringify(attempts)}`);
      assertServedOnceBy(await stableLeader(), before);
      await assertStoredAndClean(result);
    },
  );
});
