// "Restored" is not "the POST returned": Vault answers the snapshot POST, then installs the
// snapshot, hangs for a few seconds, and (Shamir, other keyring) seals itself, on every node
// of an HA cluster. Two waits follow a restore, each its own step so the history shows which
// one is stuck: first until the target has taken the snapshot (it sealed itself, or it no
// longer knows the pre-restore token, which only existed in the state the snapshot replaced),
// then until every node is unsealed, with the source's key shares where the seal needs them,
// and one is active.
import { KeySharesRejectedError, SealUnavailableError, unsealWith } from './generate-root';
import type { ShareSet } from './root-session';
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

export interface PollOptions {
  heartbeat(): void;
  signal?: AbortSignal;
  timeoutMs?: number;
  pollMs?: number;
}

export interface UnsealOptions extends PollOptions {
  /** Key shares to try on a sealed Shamir node, in order (the restored keyring first). */
  keyrings: ShareSet[];
  /** How long an auto-unseal node may stay sealed before it is reported. */
  autoUnsealGraceMs?: number;
}

/** Consecutive good polls needed, so a brief "unsealed" before the seal does not count. */
const STABLE_POLLS = 2;

/**
 * Waits until the target has taken the snapshot: some node sealed itself (a Shamir target on
 * another keyring), or the active node refuses the pre-restore token. Returns which.
 */
export async function waitUntilSnapshotTaken(
  nodes: VaultHttp[],
  preRestoreToken: string,
  options: PollOptions,
): Promise<'sealed' | 'serving'> {
  let stable = 0;
  let last = 'no answer yet';
  return poll(
    options,
    () => last,
    async () => {
      const healths = await Promise.all(nodes.map((n) => n.health().catch(() => undefined)));
      if (healths.some((h) => h?.sealed)) return 'sealed';
      const active = nodes.find((_, i) => healths[i] && !healths[i].standby);
      if (!active) {
        last = 'no active node';
        stable = 0;
        return undefined;
      }
      const oldStateGone = await active
        .request('token lookup-self', { method: 'GET', path: '/auth/token/lookup-self', token: preRestoreToken })
        .then(
          () => false,
          (err: unknown) => err instanceof VaultRequestError && err.status === 403,
        );
      stable = oldStateGone ? stable + 1 : 0;
      last = oldStateGone ? 'serving the restored state' : `${active.address} still serves the pre-restore state`;
      return stable >= STABLE_POLLS ? 'serving' : undefined;
    },
  );
}

/**
 * Waits until every node that answers is unsealed and one is active, unsealing each sealed
 * Shamir node with the first keyring it accepts. Returns how many nodes it unsealed, and
 * with which keyring. A node that does not answer is not waited for: it is down.
 */
export async function unsealAndWaitForActive(
  nodes: VaultHttp[],
  options: UnsealOptions,
): Promise<{ unsealedNodes: number; unsealedWith?: ShareSet }> {
  const unsealed = new Set<string>();
  let unsealedWith: ShareSet | undefined;
  const sealedSince = new Map<string, number>();
  const grace = options.autoUnsealGraceMs ?? 120_000;
  let stable = 0;
  let last = 'no answer yet';
  await poll(
    options,
    () => last,
    async () => {
      let active: VaultHttp | undefined;
      const sealed: string[] = [];
      for (const node of nodes) {
        const health = await node.health().catch(() => undefined);
        if (health?.sealed) {
          sealed.push(node.address);
          const status = await node.request<{ type: string }>('seal status', {
            method: 'GET',
            path: '/sys/seal-status',
          });
          // Auto-unseal seals (awskms, transit, static) come back on their own when they share the key.
          if (status.type === 'shamir') {
            unsealedWith = await unsealWithFirstAccepted(node, options.keyrings);
            unsealed.add(node.address);
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
      const ready = sealed.length === 0 && active !== undefined;
      stable = ready ? stable + 1 : 0;
      last = sealed.length > 0 ? `sealed: ${sealed.join(', ')}` : active ? 'unsealed and active' : 'no active node';
      return stable >= STABLE_POLLS ? true : undefined;
    },
  );
  return { unsealedNodes: unsealed.size, ...(unsealedWith ? { unsealedWith } : {}) };
}

async function unsealWithFirstAccepted(node: VaultHttp, keyrings: ShareSet[]): Promise<ShareSet> {
  const rejections: string[] = [];
  for (const keyring of keyrings) {
    try {
      await unsealWith(node, await keyring.load());
      return keyring;
    } catch (err) {
      if (!(err instanceof KeySharesRejectedError)) throw err;
      rejections.push(`${keyring.label}: ${err.message}`);
    }
  }
  throw new KeySharesRejectedError(`no key shares unseal ${node.address}: ${rejections.join(' | ')}`);
}

/** Runs `check` every pollMs until it returns a value, heartbeating; fails after timeoutMs. */
async function poll<T>(options: PollOptions, lastSeen: () => string, check: () => Promise<T | undefined>): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 5 * 60_000;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    options.signal?.throwIfAborted();
    options.heartbeat();
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, options.pollMs ?? 500));
  }
  throw new RestoreTimeoutError(
    `the target did not come back with the restored data within ${Math.round(timeoutMs / 1000)} s (last seen: ${lastSeen()})`,
  );
}
