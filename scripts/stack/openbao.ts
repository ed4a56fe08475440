// The stack's OpenBao servers: TLS from the stack's private CA, Raft storage, prod as three
// joined nodes, the seal stanza given (seals.ts), init and unseal, and finding the active node.
import { readFileSync, existsSync, mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { VaultHttp } from '../../activities/vault/vault-http';
import {
  type BaoClusterName,
  type BaoNode,
  baoNodes,
  caDir,
  ports,
  type SealType,
  stackDir,
  tlsServerName,
  toolsBin,
} from './layout';
import { ensurePrivateCa, issueCertificate, type PrivateCa } from './private-ca';
import { logFile, runningPid, type ServerProcess, startProcess, waitUntil } from './processes';

export interface BaoInit {
  seal: SealType;
  /** Unseal keys (Shamir) or recovery keys (auto-unseal), base64. */
  keys: string[];
  threshold: number;
  rootToken: string;
}

export interface AppRoleCredentials {
  roleId: string;
  secretId: string;
}

/** Shamir splits: prod and drill 2 of 3; the key service 1 of 1 (the stack unseals it itself). */
const SHAMIR = { shares: 3, threshold: 2 };
const KEY_SERVICE_SHAMIR = { shares: 1, threshold: 1 };
/** One recovery key with auto-unseal, as the cron-job procedure keeps one `recovery_key`. */
const RECOVERY = { shares: 1, threshold: 1 };
export function baoDir(cluster: BaoClusterName): string {
  return join(stackDir, `bao-${cluster}`);
}

/** The address clients use: prod's load balancer, drill's and the key service's only node. */
export function baoAddress(cluster: BaoClusterName): string {
  return `https://127.0.0.1:${ports[cluster]}`;
}

export function nodeAddress(node: BaoNode): string {
  return `https://127.0.0.1:${node.port}`;
}

export function stackCa(): PrivateCa {
  return ensurePrivateCa(caDir);
}

/** A client for one node or the cluster's address, trusting the stack's CA under the cluster's TLS name. */
export function stackVault(cluster: BaoClusterName, address = baoAddress(cluster), timeoutMs = 10_000): VaultHttp {
  return new VaultHttp({ address, caCert: stackCa().caPem, tlsServerName: tlsServerName(cluster), timeoutMs });
}

export function writeSecretFile(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

function nodeCertificate(node: BaoNode) {
  const dns = [tlsServerName(node.cluster), `${node.id}.vsnap.internal`];
  // prod-1 advertises https://127.0.0.1:<port> but its certificate covers names only.
  const ips = node.id === 'prod-1' ? [] : ['127.0.0.1'];
  return issueCertificate(stackCa(), node.id, { dns, ips });
}

function nodeConfig(node: BaoNode, sealStanza: string): string {
  const { certFile, keyFile } = nodeCertificate(node);
  const peers = baoNodes(node.cluster).filter((n) => n.id !== node.id && node.id !== 'prod-1');
  const joins = peers
    .map(
      (peer) => `  retry_join {
    leader_api_addr = "${nodeAddress(peer)}"
    leader_ca_cert_file = "${stackCa().caFile}"
    leader_tls_servername = "${tlsServerName(node.cluster)}"
  }
`,
    )
    .join('');
  return `storage "raft" {
  path = "${join(nodeDirOf(node), 'data')}"
  node_id = "${node.id}"
${joins}}
listener "tcp" {
  address = "127.0.0.1:${node.port}"
  cluster_address = "127.0.0.1:${node.port + 1}"
  tls_cert_file = "${certFile}"
  tls_key_file = "${keyFile}"
  # OpenBao >= 2.5.3 turns the unauthenticated sys/generate-root endpoints off by default;
  # vsnap regenerates root through them after a restore, as Vault and the cron-job procedure do.
  disable_unauthed_generate_root_endpoints = false
}
${node.cluster === 'keys' ? '' : sealStanza}api_addr = "${nodeAddress(node)}"
cluster_addr = "https://127.0.0.1:${node.port + 1}"
cluster_name = "${node.cluster}"
ui = false
log_level = "warn"
`;
}

function nodeDirOf(node: BaoNode): string {
  return join(baoDir(node.cluster), node.id);
}

export function nodeProcess(node: BaoNode): ServerProcess {
  return {
    name: `openbao-${node.id}`,
    dir: nodeDirOf(node),
    command: join(toolsBin, 'bao'),
    args: ['server', `-config=${join(nodeDirOf(node), 'server.hcl')}`],
  };
}

export function readInit(cluster: BaoClusterName): BaoInit | undefined {
  const file = join(baoDir(cluster), 'init.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as BaoInit) : undefined;
}

export function isNodeRunning(node: BaoNode): boolean {
  return runningPid(nodeProcess(node)) !== undefined;
}

/**
 * Starts (if needed), initialises (first time) and unseals one cluster, its nodes configured
 * with `seal.stanza` (seals.ts; the key service itself is always Shamir): every node joined,
 * unsealed, one active. `unsealCandidates` are other clusters' key sets a Shamir node may need
 * (a drill that received prod's snapshot carries prod's keyring).
 */
export async function ensureBao(
  cluster: BaoClusterName,
  seal: { type: SealType; stanza: string },
  unsealCandidates: () => BaoInit[],
): Promise<BaoInit> {
  const nodes = baoNodes(cluster);
  for (const node of nodes) {
    mkdirSync(join(nodeDirOf(node), 'data'), { recursive: true, mode: 0o700 });
    writeSecretFile(join(nodeDirOf(node), 'server.hcl'), nodeConfig(node, seal.stanza));
    if (!isNodeRunning(node)) startProcess(nodeProcess(node));
  }
  for (const node of nodes) {
    const vault = stackVault(cluster, nodeAddress(node), 5_000);
    await waitUntil(`openbao-${node.id} (listening on ${vault.address})`, async () => (await vault.health(), true), {
      timeoutMs: 30_000,
      log: logFile(nodeProcess(node)),
    });
  }

  const first = stackVault(cluster, nodeAddress(nodes[0]), 5_000);
  const clusterSeal: SealType = cluster === 'keys' ? 'shamir' : seal.type;
  let init = readInit(cluster);
  if (!(await first.health()).initialized) init = await initialise(cluster, clusterSeal, nodes[0]);
  if (!init) {
    throw new Error(
      `openbao-${cluster} is initialised but ${baoDir(cluster)}/init.json is missing; run stack:down --purge`,
    );
  }
  for (const node of nodes) {
    const vault = stackVault(cluster, nodeAddress(node), 5_000);
    await waitUntil(
      `openbao-${node.id} (joined and unsealed)`,
      async () => {
        const h = await vault.health();
        // A Shamir node that has joined (or restarted) waits for its keys.
        if (h.sealed && clusterSeal === 'shamir')
          await unsealWithFirstMatchingKeys(node, vault, [init, ...unsealCandidates()]);
        return !(await vault.health()).sealed;
      },
      { timeoutMs: 60_000, log: logFile(nodeProcess(node)) },
    );
  }
  await activeNode(cluster);
  return init;
}

async function initialise(cluster: BaoClusterName, seal: SealType, node: BaoNode): Promise<BaoInit> {
  // Raft bootstraps its first node during init: slower than any other call.
  const slow = stackVault(cluster, nodeAddress(node), 120_000);
  const split = cluster === 'keys' ? KEY_SERVICE_SHAMIR : seal === 'shamir' ? SHAMIR : RECOVERY;
  const body =
    seal === 'shamir'
      ? { secret_shares: split.shares, secret_threshold: split.threshold }
      : { recovery_shares: split.shares, recovery_threshold: split.threshold };
  const res = await slow.request<{ keys_base64?: string[]; recovery_keys_base64?: string[]; root_token: string }>(
    'init',
    { method: 'PUT', path: '/sys/init', json: body },
  );
  const keys = (seal === 'shamir' ? res.keys_base64 : res.recovery_keys_base64) ?? [];
  const init: BaoInit = { seal, keys, threshold: split.threshold, rootToken: res.root_token };
  writeSecretFile(join(baoDir(cluster), 'init.json'), JSON.stringify(init, null, 2));
  return init;
}

/** The node that answers as active and unsealed (after a restart, any of prod's three). */
export async function activeNode(cluster: BaoClusterName): Promise<VaultHttp> {
  let active: VaultHttp | undefined;
  await waitUntil(
    `openbao-${cluster} (an active node)`,
    async () => {
      for (const node of baoNodes(cluster)) {
        const vault = stackVault(cluster, nodeAddress(node));
        const h = await vault.health().catch(() => undefined);
        if (h && !h.sealed && !h.standby) {
          active = vault;
          return true;
        }
      }
      return false;
    },
    { timeoutMs: 60_000 },
  );
  return active!;
}

/**
 * A drill cluster that received a forced restore carries the source cluster's keyring, so
 * its own keys no longer unseal it. Try each known key set in turn.
 */
async function unsealWithFirstMatchingKeys(node: BaoNode, vault: VaultHttp, candidates: BaoInit[]): Promise<void> {
  for (const candidate of candidates.filter((c) => c.seal === 'shamir')) {
    if (!(await vault.health()).sealed) return;
    await vault.request('unseal reset', { method: 'PUT', path: '/sys/unseal', json: { reset: true } });
    try {
      for (const key of candidate.keys.slice(0, candidate.threshold)) {
        await vault.request('unseal', { method: 'PUT', path: '/sys/unseal', json: { key } });
      }
    } catch {
      // Wrong key set: reset and try the next.
    }
  }
  if ((await vault.health()).sealed)
    throw new Error(`openbao-${node.id}: no known key set unseals it; run stack:down --purge`);
}

/** Finds which known root token works on a cluster (a drill may hold prod's after a restore). */
export async function workingRootToken(cluster: BaoClusterName, candidates: BaoInit[]): Promise<string> {
  const vault = await activeNode(cluster);
  for (const candidate of candidates) {
    try {
      await vault.request('token lookup', {
        method: 'GET',
        path: '/auth/token/lookup-self',
        token: candidate.rootToken,
      });
      return candidate.rootToken;
    } catch {
      // not this one
    }
  }
  throw new Error(`openbao-${cluster}: none of the known root tokens works; run stack:down --purge`);
}
