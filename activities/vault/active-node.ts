// Snapshots must come from the active node: a standby answers the snapshot endpoint with an
// incomplete snapshot. So every snapshot call first resolves the leader with sys/leader.
import { VaultHttp } from './vault-http';

export class VaultUnavailableError extends Error {
  constructor(
    message: string,
    readonly reason: 'sealed' | 'uninitialized',
  ) {
    super(message);
    this.name = 'VaultUnavailableError';
  }
}

export interface ActiveNode {
  vault: VaultHttp;
  version?: string;
  clusterName?: string;
  clusterId?: string;
}

/** Checks the configured node is usable and returns a client for the active node. */
export async function resolveActiveNode(configured: VaultHttp, caCert?: string): Promise<ActiveNode> {
  const health = await configured.health();
  if (!health.initialized) {
    throw new VaultUnavailableError(
      `Vault at ${configured.address} is not initialised; run "vault operator init" first`,
      'uninitialized',
    );
  }
  if (health.sealed) {
    throw new VaultUnavailableError(
      `Vault at ${configured.address} is sealed; unseal it (vault operator unseal) before backing it up`,
      'sealed',
    );
  }
  const facts = { version: health.version, clusterName: health.cluster_name, clusterId: health.cluster_id };
  const leader = await configured.leader();
  if (!leader.ha_enabled || leader.is_self || !leader.leader_address) return { vault: configured, ...facts };
  const active = new VaultHttp({ address: leader.leader_address, ...(caCert ? { caCert } : {}) });
  return { vault: active, ...facts };
}
