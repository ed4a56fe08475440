// An inventory of what a cluster holds, recorded at backup time and compared after a restore:
// secret-engine mounts, auth methods, policy names, and the number of keys in each KV mount.
// Names and counts only, never a secret value.
//
// It must never fail or bloat a backup, whatever the cluster holds: one count per KV mount
// (not per key or folder), name lists capped, LISTs paginated and bounded in calls and time,
// and a mount the token may not list is recorded as not counted rather than failing the run.
import { VaultRequestError } from './vault-errors';
import type { VaultHttp } from './vault-http';

export interface Inventory {
  /** "secret/ kv-v2", "transit/ transit" (at most MAX_NAMES; `totals` has the real count) */
  secretMounts: string[];
  /** "approle/ approle" */
  authMethods: string[];
  policies: string[];
  /** KV mount -> number of keys in it: "secret/" -> 12. Only mounts that were counted. */
  keyCounts: Record<string, number>;
  /** KV mounts whose keys were not counted, and why ("no list permission", "over budget"). */
  uncounted?: Record<string, string>;
  /** The full number of each list, when a list was capped at MAX_NAMES. */
  totals?: { secretMounts: number; authMethods: number; policies: number };
}

interface MountInfo {
  type: string;
  options?: { version?: string } | null;
}

export interface InventoryBudget {
  /** LIST calls for the whole inventory. */
  maxListCalls: number;
  /** Wall time for the key counts; mounts not reached by then are recorded as not counted. */
  maxMs: number;
  /** Keys asked per LIST page (KV v2 on OpenBao pages with `after`/`limit`; others return all). */
  pageSize: number;
}

export const DEFAULT_INVENTORY_BUDGET: InventoryBudget = { maxListCalls: 5_000, maxMs: 60_000, pageSize: 1_000 };
/** Names kept per list: enough for any real cluster, small enough for a workflow payload. */
export const MAX_NAMES = 2_000;
/** KV mounts counted at most; more are recorded as not counted. */
const MAX_COUNTED_MOUNTS = 500;

class OverBudget extends Error {}

export async function takeInventory(
  vault: VaultHttp,
  token: string,
  options: {
    budget?: InventoryBudget;
    onProgress?: () => void;
    /** Count only these KV mounts (a restore check: only what the backup could count is compared). */
    countOnly?: string[];
  } = {},
): Promise<Inventory> {
  const budget = options.budget ?? DEFAULT_INVENTORY_BUDGET;
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
  const uncounted: Record<string, string> = {};
  const spent = { calls: 0, deadline: Date.now() + budget.maxMs };
  const kvMounts = Object.entries(mounts.data)
    .filter(([path, m]) => m.type === 'kv' && (!options.countOnly || options.countOnly.includes(path)))
    .sort(([a], [b]) => a.localeCompare(b));
  for (const [index, [path, mount]] of kvMounts.entries()) {
    if (index >= MAX_COUNTED_MOUNTS) {
      uncounted[path] = `more than ${MAX_COUNTED_MOUNTS} KV mounts; only the first are counted`;
      continue;
    }
    const listRoot = mount.options?.version === '2' ? `${path}metadata/` : path;
    try {
      keyCounts[path] = await countKeys(vault, token, listRoot, budget, spent, options.onProgress);
    } catch (err) {
      if (err instanceof VaultRequestError && err.status === 403) {
        uncounted[path] = `no list permission (grant "list" on ${listRoot}* to count it)`;
      } else if (err instanceof OverBudget) {
        uncounted[path] = err.message;
      } else {
        throw err;
      }
    }
  }
  const secretMounts = Object.entries(mounts.data).map(describe).sort();
  const authMethods = Object.entries(auths.data).map(describe).sort();
  const policyNames = [...policies.data.keys].sort();
  const capped = [secretMounts, authMethods, policyNames].some((l) => l.length > MAX_NAMES);
  return {
    secretMounts: secretMounts.slice(0, MAX_NAMES),
    authMethods: authMethods.slice(0, MAX_NAMES),
    policies: policyNames.slice(0, MAX_NAMES),
    keyCounts,
    ...(Object.keys(uncounted).length ? { uncounted } : {}),
    ...(capped
      ? { totals: { secretMounts: secretMounts.length, authMethods: authMethods.length, policies: policyNames.length } }
      : {}),
  };
}

/** Counts the keys under `folder`, depth first, page by page. */
async function countKeys(
  vault: VaultHttp,
  token: string,
  folder: string,
  budget: InventoryBudget,
  spent: { calls: number; deadline: number },
  onProgress?: () => void,
): Promise<number> {
  let count = 0;
  let after = '';
  for (;;) {
    if (++spent.calls > budget.maxListCalls)
      throw new OverBudget(`over the budget of ${budget.maxListCalls} LIST calls`);
    if (Date.now() > spent.deadline) throw new OverBudget(`over the budget of ${budget.maxMs / 1000}s of LIST calls`);
    onProgress?.();
    const page = await listPage(vault, token, folder, budget.pageSize, after);
    for (const entry of page) {
      count += entry.endsWith('/') ? await countKeys(vault, token, `${folder}${entry}`, budget, spent, onProgress) : 1;
    }
    // A server that ignores `limit` returned everything; a short page is the last one.
    if (page.length !== budget.pageSize) return count;
    after = page[page.length - 1];
  }
}

async function listPage(
  vault: VaultHttp,
  token: string,
  path: string,
  limit: number,
  after: string,
): Promise<string[]> {
  const query = `list=true&limit=${limit}${after ? `&after=${encodeURIComponent(after)}` : ''}`;
  try {
    const res = await vault.request<{ data: { keys: string[] } }>('list keys', {
      method: 'GET',
      path: `/${path}?${query}`,
      token,
    });
    return res.data.keys;
  } catch (err) {
    if (err instanceof VaultRequestError && err.status === 404) return []; // an empty folder
    throw err;
  }
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
  for (const field of ['secretMounts', 'authMethods', 'policies'] as const) {
    const want = recorded.totals?.[field] ?? recorded[field].length;
    const got = restored.totals?.[field] ?? restored[field].length;
    if (want !== got) differences.push(`${field}: ${want} at backup, ${got} after restore`);
  }
  // Only mounts counted at backup can be compared; older manifests counted per top-level key.
  const recordedCounts = perMount(recorded.keyCounts, restored.secretMounts);
  for (const mount of Object.keys(recordedCounts).sort()) {
    const want = recordedCounts[mount];
    const got = restored.keyCounts[mount];
    if (got === undefined) {
      const why = restored.uncounted?.[mount] ?? 'not a KV mount after restore';
      differences.push(`${mount}: ${want} keys at backup, not counted after restore (${why})`);
    } else if (want !== got) {
      differences.push(`${mount}: ${want} keys at backup, ${got} after restore`);
    }
  }
  return differences;
}

/** The KV mounts an inventory counted (from an older manifest: the mounts its counts fall under). */
export function countedMounts(inventory: Inventory): string[] {
  return Object.keys(perMount(inventory.keyCounts, inventory.secretMounts));
}

/**
 * Key counts by mount. Manifests written before counts were per mount hold one count per
 * top-level key ("secret/apps"); those are summed into the mount whose path they start with.
 */
function perMount(keyCounts: Record<string, number>, mounts: string[]): Record<string, number> {
  const mountPaths = mounts.map((m) => m.split(' ')[0]).sort((a, b) => b.length - a.length);
  const out: Record<string, number> = {};
  for (const [path, count] of Object.entries(keyCounts)) {
    const mount = path.endsWith('/') ? path : (mountPaths.find((m) => path.startsWith(m)) ?? path);
    out[mount] = (out[mount] ?? 0) + count;
  }
  return out;
}
