// "Restored" is not "the POST returned": Vault answers the snapshot POST, then installs the
// snapshot, hangs for a few seconds, and (Shamir, other keyring) seals itself, on every node
// of an HA cluster. The target is back when every node that answers is unsealed, one is
// active, and the active one no longer knows the pre-restore token, which only existed in the
// state the snapshot replaced.
import type { KeyShares } from '../keys/key-shares';
import { SealUnavailableError, unsealWith } from './generate-root';
import { VaultRequestError } from './vault-errors';
import type { VaultHttp } from './vault-http';

export class RestoreTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreTimeoutError';
  }
}

/**
 * A node that sealed itself after the restore and that its auto-unseal seal does not bring
 * back: its key service did not answer when it needed it. It stays sealed until its process
 * restarts (measured on OpenBao 2.7: the transit seal does not retry after a restore).
 */
export class TargetLeftSealedError extends SealUnavailableError {}

export interface WaitOptions {
  loadShares(): Promise<KeyShares>;
  heartbeat(): void;
  signal?: AbortSignal;
  timeoutMs?: number;
  pollMs?: number;
  /** How long an auto-unseal node may stay sealed after the restore before it is reported. */
  autoUnsealGraceMs?: number;
}

/** Consecutive good polls needed, so a brief "unsealed" before the seal does not count. */
const STABLE_POLLS = 2;

/**
 * Waits until the restore is applied on `nodes` (every node of the target; one without HA),
 * unsealing with the source's shares each node that needs them. Returns how many nodes it
 * unsealed so. A node that does not answer is not waited for: it is down, not restoring.
 */
export async function waitUntilRestoreApplied(
  nodes: VaultHttp[],
  preRestoreToken: string,
  options: WaitOptions,
): Promise<{ unsealedNodes: number }> {
  const deadline = Date.now() + (options.timeoutMs ?? 5 * 60_000);
  const pollMs = options.pollMs ?? 500;
  let stable = 0;
  const unsealedNodes = new Set<string>();
  const sealedSince = new Map<string, number>();
  const grace = options.autoUnsealGraceMs ?? 120_000;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    options.signal?.throwIfAborted();
    options.heartbeat();
    let active: VaultHttp | undefined;
    const sealed: string[] = [];
    for (const node of nodes) {
      const health = await node.health().catch(() => undefined);
      if (health?.sealed) {
        sealed.push(node.address);
        const status = await node.request<{ type: string }>('seal status', { method: 'GET', path: '/sys/seal-status' });
        // Auto-unseal seals (awskms, transit, static) come back on their own when they share the key.
        if (status.type === 'shamir') {
          await unsealWith(node, await options.loadShares());
          unsealedNodes.add(node.address);
        } else {
          const since = sealedSince.get(node.address) ?? Date.now();
          sealedSince.set(node.address, since);
          if (Date.now() - since > grace) {
            throw new TargetLeftSealedError(
              `${node.address} sealed itself after the restore and its ${status.type} seal has not unsealed it in ` +
                `${Math.round(grace / 1000)} s: its key service did not answer. ${node.address} IS SEALED: restart its ` +
                'Vault process once the key service answers (auto-unseal runs at start)',
            );
          }
        }
      } else if (health && !health.standby) {
        active = node;
      }
    }
    if (sealed.length > 0 || !active) {
      stable = 0;
      last = sealed.length > 0 ? `sealed: ${sealed.join(', ')}` : 'no active node';
    } else {
      const oldStateGone = await active
        .request('token lookup-self', { method: 'GET', path: '/auth/token/lookup-self', token: preRestoreToken })
        .then(
          () => false,
          (err: unknown) => err instanceof VaultRequestError && err.status === 403,
        );
      stable = oldStateGone ? stable + 1 : 0;
      last = oldStateGone ? 'serving the restored state' : `${active.address} still serves the pre-restore state`;
      if (stable >= STABLE_POLLS) return { unsealedNodes: unsealedNodes.size };
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  throw new RestoreTimeoutError(
    `${nodes.map((n) => n.address).join(', ')} did not come back with the restored data in time (last seen: ${last})`,
  );
}
