// An HA OpenBao cluster behind TLS from a private CA, as production runs it, with vsnap
// configured with a standby's address and the CA (caCertFile). Every step follows sys/leader
// to the active node, and there it must trust the same CA: the canary, the inventory and the
// snapshot all come from the leader, over verified TLS.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { manifestKeyFor } from '../../activities/storage/snapshot-keys';
import type { SnapshotManifest } from '../../activities/storage/manifest';
import type { backup } from '../../workflows/backup';
import { assertValidSnapshot, objectBytes } from '../helpers/bucket';
import { start } from '../helpers/runs';
import { startScratchCluster, type ScratchCluster } from '../helpers/scratch-bao';
import { isolatedCluster, startTestWorker, type TestWorker } from '../helpers/stack';
import { makeTestCertificate } from '../helpers/test-ca';

describe('an HA cluster behind TLS from a private CA, configured with a standby', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsnap-tls-ha-'));
  let ha: ScratchCluster;
  let worker: TestWorker;

  before(async () => {
    const certificate = makeTestCertificate(dir);
    ha = await startScratchCluster({ basePort: 18970, size: 2, tls: certificate });
    const cluster = {
      ...isolatedCluster('tls-ha'),
      address: ha.nodes[1].address,
      caCertFile: certificate.caFile,
      auth: { method: 'token' as const, tokenEnv: 'TEST_TLS_HA_TOKEN' },
    };
    // This certificate covers 127.0.0.1 itself, not prod's name.
    delete cluster.tlsServerName;
    worker = await startTestWorker({ clusters: [cluster], env: { TEST_TLS_HA_TOKEN: ha.rootToken } });
  });
  after(async () => {
    await worker?.stop();
    await ha?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a backup reaches the leader over verified TLS and stores a valid snapshot', async () => {
    const [leader, standby] = ha.nodes;
    assert.equal((await standby.vault.health()).standby, true, 'the configured node is a standby');
    const result = await (await start<typeof backup>(worker, 'backup', { cluster: 'tls-ha' })).result();
    const manifest = JSON.parse((await objectBytes(manifestKeyFor(result.key))).toString('utf8')) as SnapshotManifest;
    assert.equal(manifest.vault.address, standby.address);
    assert.equal(manifest.vault.activeAddress, leader.address, 'the snapshot came from the leader');
    await assertValidSnapshot(result.key, result.sha256);
  });
});
