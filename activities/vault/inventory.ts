// An inventory of what a cluster holds, recorded at backup time and compared after a restore:
// secret-engine mounts, auth methods, policy names, and key counts per top-level prefix of
// each KV mount. Names and counts only, never a secret value.
import { VaultRequestError } from './vault-errors';
import type { VaultHttp } from './vault-http';

export interface Inventory {
  /** "secret/ kv-v2", "transit/ transit" */
  secretMounts: string[];
  /** "approle/ approle" */
  authMethods: string[];
  policies: string[];
  /** "secret/apps" -> number of keys under it (a top-level key counts under its own name) */
  keyCounts: Record<string, number>;
}

interface MountInfo {
  type: string;
  options?: { version?: string } | null;
}

/** Bounds the LIST calls of one inventory, so a huge KV cannot stall a backup. */
const MAX_LIST_CALLS = 20_000;

export async function takeInventory(vault: VaultHttp, token: string): Promise<Inventory> {
  const as = { token };
  const mounts = await vault.request<{ data: Record<string, MountInfo> }>('read mounts', {
    method: 'GET',
    path: '/sys/mounts',
    ...as,
  });
  const auths = await vault.request<{ data: Record<string, MountInfo> }>('read auth methods', {
    method: 'GET',
    path: '/sys/auth',
    ...as,
  });
  const policies = await vault.request<{ data: { keys: string[] } }>('list policies', {
    method: 'GET',
    path: '/sys/policies/acl?list=true',
    ...as,
  });
  const describe = ([path, m]: [string, MountInfo]) =>
    m.type === 'kv' ? `${path} kv-v${m.options?.version ?? '1'}` : `${path} ${m.type}`;

  const keyCounts: Record<string, number> = {};
  const budget = { calls: 0 };
  for (const [path, mount] of Object.entries(mounts.data)) {
    if (mount.type !== 'kv') continue;
    const listRoot = mount.options?.version === '2' ? `${path}metadata/` : path;
    for (const entry of await listKeys(vault, token, listRoot, budget)) {
      const top = entry.replace(/\/$/, '');
      keyCounts[`${path}${top}`] = entry.endsWith('/')
        ? await countKeys(vault, token, `${listRoot}${entry}`, budget)
        : 1;
    }
  }
  return {
    secretMounts: Object.entries(mounts.data).map(describe).sort(),
    authMethods: Object.entries(auths.data).map(describe).sort(),
    policies: [...policies.data.keys].sort(),
    keyCounts,
  };
}

async function listKeys(vault: VaultHttp, token: string, path: string, budget: { calls: number }): Promise<string[]> {
  if (++budget.calls > MAX_LIST_CALLS) {
    throw new Error(`inventory needs more than ${MAX_LIST_CALLS} LIST calls; the KV is too large to count`);
  }
  try {
    const res = await vault.request<{ data: { keys: string[] } }>('list keys', {
      method: 'GET',
      path: `/${path}?list=true`,
      token,
    });
    return res.data.keys;
  } catch (err) {
    if (err instanceof VaultRequestError && err.status === 404) return []; // an empty folder
    throw err;
  }
}

async function countKeys(vault: VaultHttp, token: string, folder: string, budget: { calls: number }): Promise<number> {
  let count = 0;
  for (const entry of await listKeys(vault, token, folder, budget)) {
    count += entry.endsWith('/') ? await countKeys(vault, token, `${folder}${entry}`, budget) : 1;
  }
  return count;
}

/** What differs between the inventory recorded at backup time and the restored cluster's. */
export function compareInventories(recorded: Inventory, restored: Inventory): string[] {
  const differences: string[] = [];
  const sets = (label: string, a: string[], b: string[]) => {
    const missing = a.filter((x) => !b.includes(x));
    const extra = b.filter((x) => !a.includes(x));
    if (missing.length) differences.push(`${label} missing after restore: ${missing.join(', ')}`);
    if (extra.length) differences.push(`${label} not in the backup: ${extra.join(', ')}`);
  };
  sets('secret mounts', recorded.secretMounts, restored.secretMounts);
  sets('auth methods', recorded.authMethods, restored.authMethods);
  sets('policies', recorded.policies, restored.policies);
  const prefixes = new Set([...Object.keys(recorded.keyCounts), ...Object.keys(restored.keyCounts)]);
  for (const prefix of [...prefixes].sort()) {
    const want = recorded.keyCounts[prefix] ?? 0;
    const got = restored.keyCounts[prefix] ?? 0;
    if (want !== got) differences.push(`${prefix}: ${want} keys at backup, ${got} after restore`);
  }
  return differences;
}
