// The stack's drill cluster as the tests see it: which root token works on it (its own until
// the first restore, prod's after), and a marker that proves a refused restore changed nothing.
import { randomUUID } from 'node:crypto';
import { VaultHttp } from '../../activities/vault/vault-http';
import { baoInit, stackVault } from './stack';

export const drillVault = stackVault('drill', { timeoutMs: 60_000 });

export async function drillToken(): Promise<string> {
  for (const token of [baoInit('drill').rootToken, baoInit('prod').rootToken]) {
    const ok = await drillVault
      .request('lookup', { method: 'GET', path: '/auth/token/lookup-self', token })
      .then(() => true)
      .catch(() => false);
    if (ok) return token;
  }
  throw new Error('no known root token works on drill');
}

/** Whether a generate-root attempt is open on drill (a run must never leave one). */
export async function generateRootStarted(): Promise<boolean> {
  const attempt = await drillVault.request<{ started: boolean }>('generate-root status', {
    method: 'GET',
    path: '/sys/generate-root/attempt',
  });
  return attempt.started;
}

/** The accessors of every live token on drill, root tokens included. */
export async function drillTokenAccessors(): Promise<string[]> {
  const list = await drillVault.request<{ data: { keys: string[] } }>('list accessors', {
    method: 'LIST',
    path: '/auth/token/accessors',
    token: await drillToken(),
  });
  return list.data.keys;
}

/** Writes a fresh marker on drill; `assertUnchanged` later proves nothing restored over it. */
export async function markDrill(): Promise<{ assertUnchanged(): Promise<void> }> {
  const token = await drillToken();
  const value = randomUUID();
  await drillVault
    .request('enable KV v2', {
      method: 'POST',
      path: '/sys/mounts/secret',
      json: { type: 'kv', options: { version: '2' } },
      token,
    })
    .catch(() => undefined);
  await drillVault.request('write marker', {
    method: 'POST',
    path: '/secret/data/drill-marker',
    json: { data: { value } },
    token,
  });
  return {
    async assertUnchanged() {
      const res = await drillVault.request<{ data: { data: { value: string } } }>('read marker', {
        method: 'GET',
        path: '/secret/data/drill-marker',
        token: await drillToken(),
      });
      if (res.data.data.value !== value)
        throw new Error(`drill changed: marker is ${res.data.data.value}, wrote ${value}`);
    },
  };
}

/**
 * Waits until `target` (drill unless named) really serves prod's data after a forced restore:
 * for a moment after the POST it still answers as its old self, then (Shamir) it seals and
 * needs prod's unseal keys.
 */
export async function waitForDrillToServeProd(target: VaultHttp = drillVault): Promise<void> {
  const prod = baoInit('prod');
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const h = await target.health().catch(() => undefined);
    if (h?.sealed && prod.seal === 'shamir') {
      for (const key of prod.keys.slice(0, prod.threshold)) {
        await target.request('unseal', { method: 'PUT', path: '/sys/unseal', json: { key } }).catch(() => undefined);
      }
    }
    if (h && !h.sealed && !h.standby) {
      const served = await target
        .request('lookup', { method: 'GET', path: '/auth/token/lookup-self', token: prod.rootToken })
        .then(() => true)
        .catch(() => false);
      if (served) return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${target.address} did not come back unsealed with prod data within 60s`);
}
