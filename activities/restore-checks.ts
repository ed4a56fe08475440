// The proof that a restored server holds the backup, each check with measured values: the
// canary the backup wrote, the inventory it recorded, every recorded mount present and
// listable, the storage entries of every mount against the snapshot's state.bin, and a real
// login with the source's credentials. Shared by restores into a cluster and ephemeral drills.
import { pipeline } from 'node:stream/promises';
import type { ClusterConfig } from '../config/cluster-schema';
import type { RestoreCheck, RestorePlan } from '../workflows/restore-types';
import { SnapshotArchiveValidator } from './archive/snapshot-archive';
import { StateKeyCounter } from './archive/state-keys';
import { type ActivityDeps, vaultFor } from './deps';
import type { SnapshotManifest } from './storage/manifest';
import { compareInventories, countedMounts, type Inventory, takeInventory } from './vault/inventory';
import { VaultRequestError } from './vault/vault-errors';
import type { VaultHttp } from './vault/vault-http';
import { loginToVault } from './vault/vault-login';

const STORAGE_CHECK = 'storage entries per mount match the snapshot';

/** Storage entries per `logical/<mount uuid>` prefix of a state.bin. */
export type StorageCounts = Record<string, number>;

/** Mount types whose storage changes by being used (tokens' cubbyholes, entities made at login). */
const MUTABLE_MOUNT_TYPES = new Set(['cubbyhole', 'identity', 'system', 'ns_cubbyhole', 'ns_identity', 'ns_system']);

/** Counts state.bin's entries per mount (`logical/<uuid>`), fed with onStateChunk as the snapshot streams. */
export function storageCounter(): { onStateChunk: (chunk: Buffer) => void; counts: () => StorageCounts } {
  const counter = new StateKeyCounter();
  return {
    onStateChunk: (chunk) => counter.write(chunk),
    counts: () =>
      Object.fromEntries(
        counter
          .result()
          .byPrefix.filter((p) => p.prefix.startsWith('logical/'))
          .map((p) => [p.prefix, p.count]),
      ),
  };
}

interface MountEntry {
  type: string;
  uuid?: string;
  options?: { version?: string } | null;
}

async function readMounts(vault: VaultHttp, token: string): Promise<Record<string, MountEntry>> {
  const res = await vault.request<{ data: Record<string, MountEntry> }>('read mounts', {
    method: 'GET',
    path: '/sys/mounts',
    token,
  });
  return res.data;
}

/** Takes a snapshot of the restored server and counts its storage entries per mount. */
export async function countRestoredStorage(
  vault: VaultHttp,
  token: string,
  signal: AbortSignal,
): Promise<StorageCounts> {
  const counter = storageCounter();
  const validator = new SnapshotArchiveValidator({ onStateChunk: counter.onStateChunk });
  const stream = await vault.openSnapshotStream(token, signal);
  await pipeline(stream, validator.input, { signal });
  await validator.facts;
  return counter.counts();
}

/** Every mount of the recorded inventory exists with its type, and each KV mount answers a LIST. */
export async function checkMountsListable(
  vault: VaultHttp,
  token: string,
  inventory: Inventory,
): Promise<RestoreCheck> {
  const name = 'every recorded mount exists and is listable';
  const mounts = await readMounts(vault, token);
  const problems: string[] = [];
  let listed = 0;
  for (const recorded of inventory.secretMounts) {
    const [path, type] = recorded.split(' ');
    const mount = mounts[path];
    const restoredType = mount && (mount.type === 'kv' ? `kv-v${mount.options?.version ?? '1'}` : mount.type);
    if (!mount) {
      problems.push(`${path} is missing`);
      continue;
    }
    if (restoredType !== type) problems.push(`${path} is ${restoredType}, was ${type}`);
    if (mount.type !== 'kv') continue;
    const listPath = mount.options?.version === '2' ? `${path}metadata/` : path;
    try {
      await vault.request('list mount', { method: 'GET', path: `/${listPath}?list=true`, token });
      listed++;
    } catch (err) {
      if (err instanceof VaultRequestError && err.status === 404)
        listed++; // an empty mount lists nothing
      else problems.push(`${path} does not list (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  return {
    name,
    status: problems.length === 0 ? 'pass' : 'fail',
    expected: `${inventory.secretMounts.length} mounts present, the KV ones listable`,
    actual:
      problems.length === 0
        ? `${inventory.secretMounts.length} present, ${listed} KV mounts listed`
        : problems.join('; '),
  };
}

/** Storage entries per mount on the restored server against the snapshot's state.bin, by mount path. */
export async function checkStorageByMount(
  vault: VaultHttp,
  token: string,
  snapshot: StorageCounts,
  signal: AbortSignal,
): Promise<RestoreCheck> {
  const mounts = await readMounts(vault, token);
  const restored = await countRestoredStorage(vault, token, signal);
  const problems: string[] = [];
  let compared = 0;
  let entries = 0;
  for (const [path, mount] of Object.entries(mounts).sort(([a], [b]) => a.localeCompare(b))) {
    if (!mount.uuid || MUTABLE_MOUNT_TYPES.has(mount.type)) continue;
    const prefix = `logical/${mount.uuid}`;
    const want = snapshot[prefix] ?? 0;
    const got = restored[prefix] ?? 0;
    compared++;
    entries += want;
    if (want !== got) problems.push(`${path} (${mount.type}): ${want} entries in the snapshot, ${got} restored`);
  }
  return {
    name: STORAGE_CHECK,
    status: problems.length === 0 ? 'pass' : 'fail',
    expected: `the snapshot's state.bin counts for ${compared} mounts (${entries} entries)`,
    actual: problems.length === 0 ? 'identical' : problems.join('; '),
  };
}

async function checkCanary(vault: VaultHttp, token: string, manifest: SnapshotManifest, maxAgeDays: number) {
  const recorded = manifest.canary;
  const [mount, ...rest] = recorded.path.split('/');
  const canary = await vault
    .request<{ data: { data: { value?: string; workflowId?: string } } }>('read canary', {
      method: 'GET',
      path: `/${mount}/data/${rest.join('/')}`,
      token,
    })
    .then((r) => r.data.data)
    .catch(() => ({ value: undefined, workflowId: undefined }));
  const value = canary.value === undefined ? undefined : Number(canary.value);
  const ageSeconds = value === undefined ? undefined : Math.floor(Date.now() / 1000) - value;
  const checks: RestoreCheck[] = [
    {
      name: 'canary matches manifest',
      status: value === recorded.value && canary.workflowId === recorded.workflowId ? 'pass' : 'fail',
      expected: `${recorded.path} = ${recorded.value} (backup ${recorded.workflowId})`,
      actual:
        value === undefined ? `${recorded.path} is missing` : `${value} (backup ${canary.workflowId ?? 'unknown'})`,
    },
    {
      name: 'canary age',
      status: ageSeconds !== undefined && ageSeconds <= maxAgeDays * 86_400 ? 'pass' : 'fail',
      expected: `at most ${maxAgeDays} days (${Math.round(maxAgeDays * 86_400)}s)`,
      actual: ageSeconds === undefined ? 'no canary' : `${(ageSeconds / 86_400).toFixed(2)} days (${ageSeconds}s)`,
    },
  ];
  return checks;
}

async function checkInventory(vault: VaultHttp, token: string, manifest: SnapshotManifest): Promise<RestoreCheck> {
  const recorded = manifest.inventory;
  if (!recorded) {
    return {
      name: 'inventory matches backup',
      status: 'skipped',
      expected: '-',
      actual: 'the manifest has no inventory',
    };
  }
  const restored = await takeInventory(vault, token, { countOnly: countedMounts(recorded) });
  const differences = compareInventories(recorded, restored);
  return {
    name: 'inventory matches backup',
    status: differences.length === 0 ? 'pass' : 'fail',
    expected: summarizeInventory(recorded),
    actual: differences.length === 0 ? 'identical' : differences.join('; '),
  };
}

/** The source's own login, made against the restored server (`restoredAt`: its address and TLS settings). */
async function checkSourceLogin(
  deps: ActivityDeps,
  source: ClusterConfig,
  restoredAt: Pick<ClusterConfig, 'address' | 'caCertFile' | 'tlsServerName' | 'clientCertFile' | 'clientKeyFile'>,
): Promise<RestoreCheck> {
  const name = `${source.name}'s ${source.auth.method} login works on the restored cluster`;
  if (source.auth.method === 'token') {
    return { name, status: 'skipped', expected: 'a login method', actual: `${source.name} uses a static token` };
  }
  const restoredAsSource: ClusterConfig = { ...source, address: restoredAt.address };
  for (const field of ['caCertFile', 'tlsServerName', 'clientCertFile', 'clientKeyFile'] as const) {
    if (restoredAt[field]) restoredAsSource[field] = restoredAt[field];
    else delete restoredAsSource[field];
  }
  const vault = vaultFor(restoredAsSource);
  try {
    const session = await loginToVault(restoredAsSource, vault, deps);
    try {
      // An authenticated read the snapshot-agent policy allows: the KV listing the inventory uses.
      const mount = source.canary.mount;
      const listed = await vault.request<{ data: { keys: string[] } }>('list KV as the source login', {
        method: 'GET',
        path: `/${mount}/metadata/?list=true`,
        token: session.token,
      });
      return {
        name,
        status: 'pass',
        expected: 'login succeeds and its token can read',
        actual: `logged in; listed ${listed.data.keys.length} entries under ${mount}/`,
      };
    } finally {
      await session.revoke();
    }
  } catch (err) {
    return {
      name,
      status: 'fail',
      expected: 'login succeeds',
      actual: err instanceof Error ? err.message : String(err),
    };
  }
}

export interface RestoreCheckInput {
  deps: ActivityDeps;
  /** The restored server's active node, and a root-policy token on it. */
  vault: VaultHttp;
  token: string;
  plan: RestorePlan;
  source: ClusterConfig;
  /** How the source's login reaches the restored server. */
  restoredAt: Pick<ClusterConfig, 'address' | 'caCertFile' | 'tlsServerName' | 'clientCertFile' | 'clientKeyFile'>;
  maxAgeDays: number;
  /** The restored snapshot's storage entries per mount; the storage check runs when they are known. */
  snapshotStorage?: StorageCounts;
  signal: AbortSignal;
}

/** Every check, in order; a check that cannot run fails with why, it does not stop the others. */
export async function runRestoreChecks(input: RestoreCheckInput): Promise<RestoreCheck[]> {
  const { vault, token, plan } = input;
  const checks = await checkCanary(vault, token, plan.manifest, input.maxAgeDays);
  checks.push(await checkInventory(vault, token, plan.manifest));
  if (plan.manifest.inventory) checks.push(await checkMountsListable(vault, token, plan.manifest.inventory));
  checks.push(await checkSourceLogin(input.deps, input.source, input.restoredAt));
  // Last: a login above must not be what changes a count.
  checks.push(
    input.snapshotStorage
      ? await checkStorageByMount(vault, token, input.snapshotStorage, input.signal)
      : {
          name: STORAGE_CHECK,
          status: 'skipped',
          expected: "the snapshot's state.bin counts per mount",
          actual:
            'not re-counted: drills re-count them from a second snapshot of the restored cluster, which a ' +
            'restore skips to be back in service sooner (or the restore step resumed and never counted)',
        },
  );
  return checks;
}

function summarizeInventory(inv: Inventory): string {
  const keys = Object.values(inv.keyCounts).reduce((a, b) => a + b, 0);
  const counted = Object.keys(inv.keyCounts).length;
  const notCounted = Object.keys(inv.uncounted ?? {}).length;
  const total = (field: 'secretMounts' | 'authMethods' | 'policies') => inv.totals?.[field] ?? inv[field].length;
  return (
    `${total('secretMounts')} mounts, ${total('authMethods')} auth methods, ${total('policies')} policies, ` +
    `${keys} keys in ${counted} KV mounts` +
    (notCounted ? ` (${notCounted} KV mounts not counted: ${Object.keys(inv.uncounted ?? {}).join(', ')})` : '')
  );
}
