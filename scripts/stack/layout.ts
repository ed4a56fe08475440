// Where the local stack lives on disk and which loopback ports it uses. One place, so the
// stack script, the demo and the tests agree.
import { join, resolve } from 'node:path';

/**
 * How the stack's prod and drill unseal. `transit` (the default) is auto-unseal by a remote
 * key service, as a KMS seal is in AWS; `static` is auto-unseal by a key file both share;
 * `shamir` is unseal keys fed by hand (by the stack script).
 */
export type SealType = 'transit' | 'shamir' | 'static';
export const SEAL_TYPES: readonly SealType[] = ['transit', 'shamir', 'static'];

export const repoRoot = resolve(__dirname, '..', '..');
export const stackDir = join(repoRoot, '.stack');
export const toolsBin = join(repoRoot, '.tools', 'venv', 'bin');
export const envFile = join(stackDir, 'env');
/** The stack's private CA: every OpenBao listener has a certificate from it. */
export const caDir = join(stackDir, 'ca');
export const configFile = join(stackDir, 'vsnap.config.json');
export const codecKeysFile = join(stackDir, 'codec-keys.json');
/** Where prod's throwaway drill servers live, and the seal stanza they share with prod (auto-unseal seals). */
export const drillsDir = join(stackDir, 'drills');
export const prodSealStanzaFile = join(stackDir, 'prod-seal.hcl');

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new Error(`${name}=${raw} is not a TCP port; unset it or give a number between 1 and 65535`);
  }
  return value;
}

export const ports = {
  temporal: port('VSNAP_STACK_TEMPORAL_PORT', 7233),
  temporalUi: port('VSNAP_STACK_TEMPORAL_UI_PORT', 8233),
  moto: port('VSNAP_STACK_MOTO_PORT', 5055),
  /** prod's load balancer: the address vsnap is configured with. */
  prod: port('VSNAP_STACK_PROD_PORT', 8200),
  drill: port('VSNAP_STACK_DRILL_PORT', 8210),
  /** prod's nodes listen on this port and the next even ones (API), each with its cluster port after it. */
  prodNodes: port('VSNAP_STACK_PROD_NODES_PORT', 8220),
  keys: port('VSNAP_STACK_KEYS_PORT', 8230),
  /** The codec server the Temporal UI decodes vsnap's encrypted payloads through. */
  codec: port('VSNAP_STACK_CODEC_PORT', 8240),
};

/**
 * The stack's OpenBao clusters: `prod` is backed up (three Raft nodes behind a load balancer),
 * `drill` is where restores are rehearsed (one node), and `keys` is the key service whose
 * transit engine auto-unseals both, as a KMS key does in AWS.
 */
export const baoClusters = ['prod', 'drill', 'keys'] as const;
export type BaoClusterName = (typeof baoClusters)[number];
export const PROD_NODE_COUNT = 3;

/** One OpenBao server process of the stack. */
export interface BaoNode {
  cluster: BaoClusterName;
  /** Raft node id and process name: prod-1, prod-2, prod-3, drill-1, keys-1. */
  id: string;
  port: number;
}

export function baoNodes(cluster: BaoClusterName): BaoNode[] {
  if (cluster !== 'prod') return [{ cluster, id: `${cluster}-1`, port: ports[cluster] }];
  return Array.from({ length: PROD_NODE_COUNT }, (_, i) => ({
    cluster,
    id: `prod-${i + 1}`,
    port: ports.prodNodes + 2 * i,
  }));
}

/**
 * The DNS name every certificate of a cluster covers: what clients set as `tlsServerName`,
 * as they would name a Kubernetes Service. prod-1's certificate covers only names, not the
 * 127.0.0.1 it advertises as its api_addr, as a pod's certificate rarely covers its pod IP.
 */
export const tlsServerName = (cluster: BaoClusterName) => `${cluster}.vsnap.internal`;

export const aws = {
  region: 'eu-west-3',
  accessKeyId: 'vsnap-local',
  secretAccessKey: 'vsnap-local-secret',
  bucket: 'eu-west-3-vsnap-snapshots',
  kmsAlias: 'alias/vsnap-snapshots',
  // The cron-job procedure's secret: the backup's AppRole credentials, Vault address and bucket.
  agentSecretId: 'security/vault/vault-snapshot',
  // A separate secret with the key shares a restore needs (`recovery_key`, as the cron-job procedure stores it).
  keySharesSecretId: (cluster: string) => `security/vault/${cluster}/key-shares`,
};
