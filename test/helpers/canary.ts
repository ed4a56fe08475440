// The canary as the tests watch it: its KV v2 version moves with every write, so "unchanged"
// proves no canary was written, even by a run that wrote the same value.
import assert from 'node:assert/strict';
import type { VaultHttp } from '../../activities/vault/vault-http';
import { VaultRequestError } from '../../activities/vault/vault-errors';

async function canaryVersion(vault: VaultHttp, token: string): Promise<number> {
  try {
    const res = await vault.request<{ data: { current_version: number } }>('canary metadata', {
      method: 'GET',
      path: '/secret/metadata/check_timestamp',
      token,
    });
    return res.data.current_version;
  } catch (err) {
    if (err instanceof VaultRequestError && err.status === 404) return 0;
    throw err;
  }
}

/** Records the canary's version now; the returned check fails if anything wrote it since. */
export async function watchCanary(vault: VaultHttp, token: string): Promise<() => Promise<void>> {
  const before = await canaryVersion(vault, token);
  return async () => assert.equal(await canaryVersion(vault, token), before, 'no canary was written');
}
