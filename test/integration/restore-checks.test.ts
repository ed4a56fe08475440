// The checks a restore's proof adds beside the canary and the inventory, run against the
// stack's prod with its root token: each must pass on a faithful cluster and fail, naming the
// mount, when the recorded facts and the cluster differ.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkMountsListable, checkStorageByMount, countRestoredStorage } from '../../activities/restore-checks';
import { takeInventory } from '../../activities/vault/inventory';
import { baoInit, stackVault } from '../helpers/stack';

const prod = () => stackVault('prod', { timeoutMs: 60_000 });
const token = () => baoInit('prod').rootToken;

async function mountUuid(path: string): Promise<string> {
  const res = await prod().request<{ data: Record<string, { uuid: string }> }>('read mounts', {
    method: 'GET',
    path: '/sys/mounts',
    token: token(),
  });
  return res.data[path].uuid;
}

describe('the deeper restore checks', () => {
  test('every recorded mount exists and is listable: passes on the cluster, names a missing mount and a changed type', async () => {
    const inventory = await takeInventory(prod(), token());
    const pass = await checkMountsListable(prod(), token(), inventory);
    assert.equal(pass.status, 'pass', pass.actual);
    assert.match(pass.actual, /KV mounts listed/);

    const altered = {
      ...inventory,
      secretMounts: [
        ...inventory.secretMounts.map((m) => (m.startsWith('legacy/ ') ? 'legacy/ kv-v2' : m)),
        'gone/ kv-v2',
      ],
    };
    const fail = await checkMountsListable(prod(), token(), altered);
    assert.equal(fail.status, 'fail');
    assert.match(fail.actual, /gone\/ is missing/);
    assert.match(fail.actual, /legacy\/ is kv-v1, was kv-v2/);
  });

  test('storage entries per mount: identical to a snapshot of the same cluster; a different count is named by mount', async () => {
    const signal = new AbortController().signal;
    const counts = await countRestoredStorage(prod(), token(), signal);
    const transit = `logical/${await mountUuid('transit/')}`;
    assert.ok((counts[transit] ?? 0) > 0, 'the seeded transit keys are in the snapshot');

    const pass = await checkStorageByMount(prod(), token(), counts, signal);
    assert.equal(pass.status, 'pass', pass.actual);

    const fail = await checkStorageByMount(prod(), token(), { ...counts, [transit]: counts[transit] + 1 }, signal);
    assert.equal(fail.status, 'fail');
    assert.match(
      fail.actual,
      new RegExp(`transit/ \\(transit\\): ${counts[transit] + 1} entries in the snapshot, ${counts[transit]} restored`),
    );
  });
});
