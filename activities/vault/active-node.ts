// Snapshots must come from the active node (a standby answers the snapshot endpoint with an
// incomplete snapshot) and restores must go to it (an OpenBao standby accepts the POST, does
// not apply it and seals itself). Which node is active is asked of the configured node (sys/leader) and
// then confirmed by asking the named node itself (sys/health): during an election a standby
// keeps naming the old leader, dead or stepped down, until the new one writes its lock entry,
// which takes 5-10 s or more with Raft's default timeouts.
import { setTimeout as delay } from 'node:timers/promises';
import { VaultHttp, type VaultHealth } from './vault-http';

export class VaultUnavailableError extends Error {
  constructor(
    message: string,
    readonly reason: 'sealed' | 'uninitialized',
  ) {
    super(message);
    this.name = 'VaultUnavailableError';
  }
}

/** No live active node within the wait: retryable, the election may still finish. */
export class NoActiveNodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoActiveNodeError';
  }
}

export interface ActiveNode {
  vault: VaultHttp;
  version?: string;
  clusterName?: string;
  clusterId?: string;
}

export interface LeaderWait {
  /** How long to wait for an election to settle before failing (retryably). */
  timeoutMs?: number;
  pollMs?: number;
  /** Called on each poll while no active node is confirmed, e.g. to say so in a heartbeat. */
  onWaiting?: (why: string) => void;
  /** Ends the wait at once (an activity's cancellation). */
  signal?: AbortSignal;
}

const DEFAULT_LEADER_WAIT_MS = 60_000;

/**
 * Checks the configured node is usable and returns a client for the active node, once that
 * node has confirmed it is active. Waits through an election in progress.
 */
export async function resolveActiveNode(configured: VaultHttp, wait: LeaderWait = {}): Promise<ActiveNode> {
  assertUsable(configured.address, await configured.health());
  const timeoutMs = wait.timeoutMs ?? DEFAULT_LEADER_WAIT_MS;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    wait.signal?.throwIfAborted();
    const { node, why } = await confirmedActiveNode(configured);
    if (node) return node;
    if (Date.now() >= deadline) {
      throw new NoActiveNodeError(
        `no active Vault node confirmed within ${Math.round(timeoutMs / 1000)}s via ${configured.address}: ` +
          `${why}. An election may be in progress; the step is retried`,
      );
    }
    wait.onWaiting?.(why);
    await delay(wait.pollMs ?? 500, undefined, wait.signal ? { signal: wait.signal } : {});
  }
}

function assertUsable(address: string, health: VaultHealth): void {
  if (!health.initialized) {
    throw new VaultUnavailableError(
      `Vault at ${address} is not initialised; run "vault operator init" first`,
      'uninitialized',
    );
  }
  if (health.sealed) {
    throw new VaultUnavailableError(
      `Vault at ${address} is sealed; unseal it first (vault operator unseal, or restart it if its auto-unseal key service was down)`,
      'sealed',
    );
  }
}

/** The node `configured` names as leader, if that node itself says it is active and unsealed. */
async function confirmedActiveNode(configured: VaultHttp): Promise<{ node?: ActiveNode; why: string }> {
  const leader = await configured.leader();
  let candidate: VaultHttp;
  if (!leader.ha_enabled || leader.is_self) candidate = configured;
  else if (leader.leader_address) candidate = configured.forNode(leader.leader_address);
  else return { why: `${configured.address} knows no leader yet` };
  const health = await candidate.health().catch((err: Error) => err);
  if (health instanceof Error)
    return { why: `${candidate.address}, named leader, does not answer (${health.message})` };
  if (health.sealed || health.standby) return { why: `${candidate.address}, named leader, is not active` };
  return {
    node: { vault: candidate, version: health.version, clusterName: health.cluster_name, clusterId: health.cluster_id },
    why: 'active',
  };
}

/**
 * Every node of the cluster `active` belongs to, from sys/ha-status (a root token can read
 * it): a restore must see every one of them unsealed, not only the one it talked to. A
 * cluster without HA, or a Vault that does not serve the endpoint, is the one node.
 */
export async function clusterNodes(active: VaultHttp, token: string): Promise<VaultHttp[]> {
  const status = await active
    .request<{ nodes?: { api_address?: string }[] }>('HA status', { method: 'GET', path: '/sys/ha-status', token })
    .catch(() => undefined);
  const addresses = (status?.nodes ?? []).map((n) => n.api_address).filter((a): a is string => Boolean(a));
  if (addresses.length === 0) return [active];
  return addresses.map((address) => (address === active.address ? active : active.forNode(address)));
}
