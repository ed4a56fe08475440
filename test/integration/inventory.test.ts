// The inventory on a cluster shaped like a real one: KV v1 and v2 mounts (one nested), a folder
// of 25,000 keys, transit, PKI, userpass, a namespace. It must never fail or bloat a backup:
// mounts the backup's policy may not list are recorded as not counted, big folders are read
// page by page, and a budget turns an endless count into "not counted", not a failed run.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { manifestKeyFor } from '../../activities/storage/snapshot-keys';
import type { SnapshotManifest } from '../../activities/storage/manifest';
import { takeInventory } from '../../activities/vault/inventory';
import { BULK_FOLDER, KV_MOUNTS } from '../../scripts/stack/prod-data';
import type { backup } from '../../workflows/backup';
import { objectBytes } from '../helpers/bucket';
import { start } from '../helpers/runs';
import { baoInit, isolatedCluster, stackVault, startTestWorker, type TestWorker } from '../helpers/stack';

describe('the inventory of a real-shaped prod', () => {
  const cluster = isolatedCluster('prod-inventory');
  let worker: TestWorker;

  before(async () => {
    worker = await startTestWorker({ clusters: [cluster] });
  });
  after(async () => worker?.stop());

  test('a backup passes; KV mounts the snapshot-agent policy may not list are recorded as not counted, and the manifest stays small', async () => {
    const result = await (await start<typeof backup>(worker, 'backup', { cluster: cluster.name })).result();
    const manifestBytes = await objectBytes(manifestKeyFor(result.key));
    const { inventory } = JSON.parse(manifestBytes.toString('utf8')) as SnapshotManifest;
    assert.ok(inventory, 'the manifest has an inventory');
    assert.deepEqual(Object.keys(inventory.keyCounts), ['secret/'], 'the policy lists secret/ only');
    for (const mount of [...KV_MOUNTS.map((m) => m.path), BULK_FOLDER.mount]) {
      assert.match(inventory.uncounted?.[mount] ?? '', /^no list permission \(grant "list" on /, mount);
    }
    assert.ok(inventory.secretMounts.includes('team/a/kv/ kv-v2'), 'the nested mount is listed');
    assert.ok(manifestBytes.length < 16 * 1024, `manifest is ${manifestBytes.length} bytes`);
  });

  test('with a token that may list everything, the 25,000-key folder is counted page by page', async () => {
    const inventory = await takeInventory(stackVault('prod', { timeoutMs: 60_000 }), baoInit('prod').rootToken);
    // The folder's keys plus the seeding's completion marker beside it.
    assert.equal(inventory.keyCounts[BULK_FOLDER.mount], BULK_FOLDER.keys + 1);
    const teamA = KV_MOUNTS.find((m) => m.path === 'team/a/kv/');
    assert.ok(teamA, 'the stack seeds team/a/kv/');
    assert.equal(inventory.keyCounts['team/a/kv/'], Object.keys(teamA.secrets).length);
    assert.equal(inventory.uncounted, undefined);
    assert.ok(JSON.stringify(inventory).length < 4 * 1024, 'one count per mount, whatever the key count');
  });

  test('past its budget of LIST calls, a mount is recorded as not counted instead of failing', async () => {
    const budget = { maxListCalls: 10, maxMs: 60_000, pageSize: 1_000 };
    const inventory = await takeInventory(stackVault('prod'), baoInit('prod').rootToken, { budget });
    assert.equal(inventory.keyCounts[BULK_FOLDER.mount], undefined);
    assert.equal(inventory.uncounted?.[BULK_FOLDER.mount], 'over the budget of 10 LIST calls');
  });
});
