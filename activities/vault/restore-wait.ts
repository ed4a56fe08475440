// "Restored" is not "the POST returned": Vault answers the snapshot POST, then installs the
// snapshot, hangs for a few seconds, and (Shamir, other keyring) seals itself. The target is
// back when it is unsealed, active, and no longer knows the pre-restore token, which only
// existed in the state the snapshot replaced.
import type { KeyShares } from '../keys/key-shares';
import { unsealWith } from './generate-root';
import { VaultRequestError } from './vault-errors';
import type { VaultHttp } from './vault-http';

export class RestoreTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreTimeoutError';
  }
}

export interface WaitOptions {
  loadShares(): Promise<KeyShares>;
  heartbeat(): void;
  signal?: AbortSignal;
  timeoutMs?: number;
  pollMs?: number;
}

/** Consecutive good polls needed, so a brief "unsealed" before the seal does not count. */
const STABLE_POLLS = 2;

export async function waitUntilRestoreApplied(
  vault: VaultHttp,
  preRestoreToken: string,
  options: WaitOptions,
): Promise<{ unsealed: boolean }> {
  const deadline = Date.now() + (options.timeoutMs ?? 5 * 60_000);
  const pollMs = options.pollMs ?? 500;
  let stable = 0;
  let unsealed = false;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    options.signal?.throwIfAborted();
    options.heartbeat();
    const health = await vault.health().catch((err: Error) => {
      last = err.message;
      return undefined;
    });
    if (health?.sealed) {
      stable = 0;
      last = 'sealed';
      const status = await vault.request<{ type: string }>('seal status', { method: 'GET', path: '/sys/seal-status' });
      // Auto-unseal seals (awskms, static, ...) come back on their own when they share the key.
      if (status.type === 'shamir') {
        await unsealWith(vault, await options.loadShares());
        unsealed = true;
      }
    } else if (health && !health.standby) {
      const oldStateGone = await vault
        .request('token lookup-self', { method: 'GET', path: '/auth/token/lookup-self', token: preRestoreToken })
        .then(
          () => false,
          (err: unknown) => err instanceof VaultRequestError && err.status === 403,
        );
      stable = oldStateGone ? stable + 1 : 0;
      last = oldStateGone ? 'serving the restored state' : 'still serving the pre-restore state';
      if (stable >= STABLE_POLLS) return { unsealed };
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  throw new RestoreTimeoutError(
    `${vault.address} did not come back with the restored data in time (last seen: ${last})`,
  );
}
