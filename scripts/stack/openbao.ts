// The stack's OpenBao servers: config with Raft storage, init, unseal, and the seed data of
// `prod` (KV v2, the snapshot-agent AppRole and its policy, a few secrets).
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VaultHttp } from '../../activities/vault/vault-http';
import { type BaoClusterName, ports, repoRoot, type SealType, stackDir, toolsBin } from './layout';
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

const KEY_SHARES = 3;
const KEY_THRESHOLD = 2;

export function baoDir(name: BaoClusterName): string {
  return join(stackDir, `bao-${name}`);
}

export function baoAddress(name: BaoClusterName): string {
  return `http://127.0.0.1:${ports[name]}`;
}

function staticKeyFile(): string {
  return join(stackDir, 'static-seal.key');
}

function writeSecretFile(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

function baoConfig(name: BaoClusterName, seal: SealType): string {
  const port = ports[name];
  // Both clusters share one static key, as prod and its drill cluster share one KMS key in
  // AWS: that is what lets a forced restore come back unsealed on its own.
  const sealStanza =
    seal === 'static'
      ? `seal "static" {\n  current_key_id = "vsnap-local-1"\n  current_key = "file://${staticKeyFile()}"\n}\n`
      : '';
  return `storage "raft" {
  path = "${join(baoDir(name), 'data')}"
  node_id = "${name}-1"
}
listener "tcp" {
  address = "127.0.0.1:${port}"
  cluster_address = "127.0.0.1:${port + 1}"
  tls_disable = true
  # OpenBao >= 2.5.3 turns the unauthenticated sys/generate-root endpoints off by default;
  # vsnap regenerates root through them after a restore, as Vault and the seed's script do.
  disable_unauthed_generate_root_endpoints = false
}
${sealStanza}api_addr = "http://127.0.0.1:${port}"
cluster_addr = "http://127.0.0.1:${port + 1}"
cluster_name = "${name}"
ui = false
log_level = "warn"
`;
}

function serverProcess(name: BaoClusterName): ServerProcess {
  return {
    name: `openbao-${name}`,
    dir: baoDir(name),
    command: join(toolsBin, 'bao'),
    args: ['server', `-config=${join(baoDir(name), 'server.hcl')}`],
  };
}

export function readInit(name: BaoClusterName): BaoInit | undefined {
  const file = join(baoDir(name), 'init.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as BaoInit) : undefined;
}

export function isBaoRunning(name: BaoClusterName): boolean {
  return runningPid(serverProcess(name)) !== undefined;
}

export function baoProcess(name: BaoClusterName): ServerProcess {
  return serverProcess(name);
}

/** Starts (if needed), initialises (first time), and unseals one OpenBao server. */
export async function ensureBao(
  name: BaoClusterName,
  seal: SealType,
  unsealCandidates: () => BaoInit[],
): Promise<BaoInit> {
  const dir = baoDir(name);
  mkdirSync(join(dir, 'data'), { recursive: true });
  if (seal === 'static' && !existsSync(staticKeyFile())) {
    writeSecretFile(staticKeyFile(), randomBytes(32).toString('base64'));
  }
  writeFileSync(join(dir, 'server.hcl'), baoConfig(name, seal));
  const proc = serverProcess(name);
  if (runningPid(proc) === undefined) startProcess(proc);
  const vault = new VaultHttp({ address: baoAddress(name), timeoutMs: 5_000 });
  await waitUntil(`openbao-${name} (listening on ${vault.address})`, async () => (await vault.health(), true), {
    timeoutMs: 30_000,
    log: logFile(proc),
  });

  let init = readInit(name);
  if (!(await vault.health()).initialized) {
    // Raft bootstraps its first node during init: slower than any other call.
    const slow = new VaultHttp({ address: vault.address, timeoutMs: 120_000 });
    const body =
      seal === 'static'
        ? { recovery_shares: KEY_SHARES, recovery_threshold: KEY_THRESHOLD }
        : { secret_shares: KEY_SHARES, secret_threshold: KEY_THRESHOLD };
    const res = await slow.request<{ keys_base64?: string[]; recovery_keys_base64?: string[]; root_token: string }>(
      'init',
      { method: 'PUT', path: '/sys/init', json: body },
    );
    const keys = (seal === 'static' ? res.recovery_keys_base64 : res.keys_base64) ?? [];
    init = { seal, keys, threshold: KEY_THRESHOLD, rootToken: res.root_token };
    writeSecretFile(join(dir, 'init.json'), JSON.stringify(init, null, 2));
  }
  if (!init) throw new Error(`openbao-${name} is initialised but ${dir}/init.json is missing; run stack:down --purge`);

  if (seal === 'shamir') await unsealWithFirstMatchingKeys(name, vault, [init, ...unsealCandidates()]);
  await waitUntil(
    `openbao-${name} (active and unsealed)`,
    async () => {
      const h = await vault.health();
      return !h.sealed && !h.standby;
    },
    { timeoutMs: 30_000, log: logFile(proc) },
  );
  return init;
}

/**
 * A drill cluster that received a forced restore carries the source cluster's keyring, so
 * its own keys no longer unseal it. Try each known key set in turn.
 */
async function unsealWithFirstMatchingKeys(
  name: BaoClusterName,
  vault: VaultHttp,
  candidates: BaoInit[],
): Promise<void> {
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
    throw new Error(`openbao-${name}: no known key set unseals it; run stack:down --purge`);
}

/** Finds which known root token works on a cluster (a drill may hold prod's after a restore). */
export async function workingRootToken(name: BaoClusterName, candidates: BaoInit[]): Promise<string> {
  const vault = new VaultHttp({ address: baoAddress(name), timeoutMs: 5_000 });
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
  throw new Error(`openbao-${name}: none of the known root tokens works; run stack:down --purge`);
}

async function idempotent(call: Promise<unknown>, alreadyDoneMessage: RegExp): Promise<void> {
  try {
    await call;
  } catch (err) {
    if (!(err instanceof Error) || !alreadyDoneMessage.test(err.message)) throw err;
  }
}

export const SEED_SECRETS: Record<string, Record<string, string>> = {
  'apps/billing/database': { username: 'billing', password: 'seed-billing-db-password' },
  'apps/billing/stripe': { api_key: 'seed-stripe-key' },
  'apps/web/session': { signing_key: 'seed-web-session-key' },
  'infra/ci/deploy': { token: 'seed-ci-deploy-token' },
  'infra/dns/route53': { access_key: 'seed-route53-access' },
};

/** KV v2 at `secret/`, as the seed's cluster has it. */
async function enableKvV2(vault: VaultHttp, token: string): Promise<void> {
  await idempotent(
    vault.request('enable KV v2', {
      method: 'POST',
      path: '/sys/mounts/secret',
      json: { type: 'kv', options: { version: '2' } },
      token,
    }),
    /already in use/,
  );
}

/** The prod cluster's seed: idempotent, so `stack:up` can run it every time. */
export async function seedProd(rootToken: string): Promise<AppRoleCredentials> {
  const vault = new VaultHttp({ address: baoAddress('prod'), timeoutMs: 10_000 });
  const as = { token: rootToken };
  await enableKvV2(vault, rootToken);
  await idempotent(
    vault.request('enable AppRole', { method: 'POST', path: '/sys/auth/approle', json: { type: 'approle' }, ...as }),
    /already in use/,
  );
  const policy = readFileSync(join(repoRoot, 'deploy', 'vault', 'snapshot-agent-policy.hcl'), 'utf8');
  await vault.request('write policy', {
    method: 'PUT',
    path: '/sys/policies/acl/snapshot-agent',
    json: { policy },
    ...as,
  });
  await vault.request('write AppRole role', {
    method: 'POST',
    path: '/auth/approle/role/snapshot-agent',
    json: {
      token_policies: ['snapshot-agent'],
      token_no_default_policy: true,
      // A backup takes minutes; a token that outlives a killed worker by at most this long.
      token_ttl: '15m',
      token_max_ttl: '1h',
    },
    ...as,
  });
  for (const [path, data] of Object.entries(SEED_SECRETS)) {
    await vault.request('write seed secret', { method: 'POST', path: `/secret/data/${path}`, json: { data }, ...as });
  }

  const credsFile = join(baoDir('prod'), 'approle.json');
  if (existsSync(credsFile)) return JSON.parse(readFileSync(credsFile, 'utf8')) as AppRoleCredentials;
  const role = await vault.request<{ data: { role_id: string } }>('read role id', {
    method: 'GET',
    path: '/auth/approle/role/snapshot-agent/role-id',
    ...as,
  });
  const secret = await vault.request<{ data: { secret_id: string } }>('create secret id', {
    method: 'POST',
    path: '/auth/approle/role/snapshot-agent/secret-id',
    ...as,
  });
  const creds = { roleId: role.data.role_id, secretId: secret.data.secret_id };
  writeSecretFile(credsFile, JSON.stringify(creds));
  return creds;
}

/** The drill cluster starts as an empty cluster with the same KV layout; drills restore prod over it. */
export async function seedDrill(rootToken: string): Promise<void> {
  const vault = new VaultHttp({ address: baoAddress('drill'), timeoutMs: 10_000 });
  await enableKvV2(vault, rootToken);
}
