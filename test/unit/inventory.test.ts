// The inventory comparison a restore drill runs: counts per KV mount, only what the backup
// could count, and manifests from before counts were per mount.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareInventories, countedMounts, type Inventory } from '../../activities/vault/inventory';

const base: Inventory = {
  secretMounts: ['bulk/ kv-v2', 'secret/ kv-v2', 'sys/ system'],
  authMethods: ['approle/ approle', 'token/ token'],
  policies: ['default', 'root', 'snapshot-agent'],
  keyCounts: { 'secret/': 6 },
  uncounted: { 'bulk/': 'no list permission (grant "list" on bulk/metadata/* to count it)' },
};

describe('comparing the inventory recorded at backup with the restored cluster', () => {
  test('identical inventories have no differences', () => {
    assert.deepEqual(compareInventories(base, { ...base, uncounted: {} }), []);
  });

  test('a KV mount the backup could not count is not compared', () => {
    const restored = { ...base, keyCounts: { 'secret/': 6, 'bulk/': 25_000 } };
    assert.deepEqual(compareInventories(base, restored), []);
    assert.deepEqual(countedMounts(base), ['secret/']);
  });

  test('a different key count, a missing mount and a missing policy are each named', () => {
    const restored: Inventory = {
      ...base,
      secretMounts: ['secret/ kv-v2', 'sys/ system'],
      policies: ['default', 'root'],
      keyCounts: { 'secret/': 5 },
    };
    assert.deepEqual(compareInventories(base, restored), [
      'secret mounts missing after restore: bulk/ kv-v2',
      'policies missing after restore: snapshot-agent',
      'secretMounts: 3 at backup, 2 after restore',
      'policies: 3 at backup, 2 after restore',
      'secret/: 6 keys at backup, 5 after restore',
    ]);
  });

  test('a mount counted at backup but not after restore says why', () => {
    const restored = { ...base, keyCounts: {}, uncounted: { 'secret/': 'over the budget of 5000 LIST calls' } };
    assert.deepEqual(compareInventories(base, restored), [
      'secret/: 6 keys at backup, not counted after restore (over the budget of 5000 LIST calls)',
    ]);
  });

  test('a manifest with counts per top-level key (older vsnap) is compared per mount', () => {
    const older = { ...base, keyCounts: { 'secret/apps': 3, 'secret/infra': 2, 'secret/check_timestamp': 1 } };
    delete older.uncounted;
    assert.deepEqual(countedMounts(older), ['secret/']);
    assert.deepEqual(compareInventories(older, base), []);
  });

  test('lists capped at backup are compared by their full counts', () => {
    const capped = { ...base, totals: { secretMounts: 3, authMethods: 2, policies: 2_500 } };
    assert.deepEqual(compareInventories(capped, { ...capped, totals: { ...capped.totals, policies: 2_499 } }), [
      'policies: 2500 at backup, 2499 after restore',
    ]);
  });
});
