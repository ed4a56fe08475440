// Reading and writing single KV secrets (v1 and v2) by their full path ("secret/apps/db"),
// for recovering them out of a snapshot. Values stay in the calling activity's memory: what
// leaves this module for a workflow is names, versions and states, never a value.
import { VaultRequestError } from './vault-errors';
import type { VaultHttp } from './vault-http';

export interface KvMount {
  /** As sys/mounts names it, with its trailing slash: "secret/". */
  path: string;
  version: 1 | 2;
}

export type SecretData = Record<string, unknown>;

/** What a live secret looks like to a check-and-set: its state and (KV v2) current version. */
export interface LiveState {
  state: 'absent' | 'deleted' | 'present';
  /** KV v2: metadata's current_version (0 when absent). KV v1 keeps no versions: 0. */
  version: number;
}

export async function readKvMounts(vault: VaultHttp, token: string): Promise<KvMount[]> {
  const res = await vault.request<{ data: Record<string, { type: string; options?: { version?: string } | null }> }>(
    'read mounts',
    { method: 'GET', path: '/sys/mounts', token },
  );
  return Object.entries(res.data)
    .filter(([, m]) => m.type === 'kv')
    .map(([path, m]): KvMount => ({ path, version: m.options?.version === '2' ? 2 : 1 }));
}

/** The KV mount a full path lies in (the longest match) and the path within it, or undefined. */
export function splitKvPath(mounts: KvMount[], fullPath: string): { mount: KvMount; key: string } | undefined {
  const mount = [...mounts]
    .sort((a, b) => b.path.length - a.path.length)
    .find((m) => fullPath.startsWith(m.path) && fullPath.length > m.path.length);
  return mount ? { mount, key: fullPath.slice(mount.path.length) } : undefined;
}

const dataPath = (m: KvMount, key: string) => (m.version === 2 ? `/${m.path}data/${key}` : `/${m.path}${key}`);
const metadataPath = (m: KvMount, key: string) => `/${m.path}metadata/${key}`;

function notFound(err: unknown): boolean {
  return err instanceof VaultRequestError && err.status === 404;
}

/** The entries of a folder ("apps/"): keys, and sub-folders ending in "/". Empty when there is none. */
export async function listFolder(vault: VaultHttp, token: string, m: KvMount, folder: string): Promise<string[]> {
  const path = m.version === 2 ? metadataPath(m, folder) : `/${m.path}${folder}`;
  return vault
    .request<{ data: { keys: string[] } }>('list folder', { method: 'GET', path: `${path}?list=true`, token })
    .then((r) => r.data.keys)
    .catch((err: unknown) => {
      if (notFound(err)) return [];
      throw err;
    });
}

interface V2Metadata {
  current_version: number;
  versions: Record<string, { deletion_time: string; destroyed: boolean }>;
}

async function readMetadata(vault: VaultHttp, token: string, m: KvMount, key: string): Promise<V2Metadata | undefined> {
  return vault
    .request<{ data: V2Metadata }>('read secret metadata', { method: 'GET', path: metadataPath(m, key), token })
    .then((r) => r.data)
    .catch((err: unknown) => {
      if (notFound(err)) return undefined;
      throw err;
    });
}

/**
 * A secret as a snapshot holds it. KV v2: the given version, or by default the newest version
 * that still holds data (neither deleted nor destroyed). Undefined when there is none.
 */
export async function readSecret(
  vault: VaultHttp,
  token: string,
  m: KvMount,
  key: string,
  version?: number,
): Promise<{ data: SecretData; version?: number } | { missing: string }> {
  if (m.version === 1) {
    if (version !== undefined) return { missing: `${m.path}${key} is in a KV v1 mount, which keeps no versions` };
    return vault
      .request<{ data: SecretData }>('read secret', { method: 'GET', path: dataPath(m, key), token })
      .then((r) => ({ data: r.data }))
      .catch((err: unknown) => {
        if (notFound(err)) return { missing: `${m.path}${key} does not exist in the snapshot` };
        throw err;
      });
  }
  const meta = await readMetadata(vault, token, m, key);
  if (!meta) return { missing: `${m.path}${key} does not exist in the snapshot` };
  const holdsData = (n: string) => meta.versions[n] && !meta.versions[n].deletion_time && !meta.versions[n].destroyed;
  const chosen =
    version ??
    Object.keys(meta.versions)
      .map(Number)
      .sort((a, b) => b - a)
      .find((n) => holdsData(String(n)));
  if (chosen === undefined)
    return { missing: `every version of ${m.path}${key} in the snapshot is deleted or destroyed` };
  if (!holdsData(String(chosen))) {
    const state = meta.versions[String(chosen)] ? 'deleted or destroyed' : 'not there';
    return {
      missing: `version ${chosen} of ${m.path}${key} is ${state} in the snapshot (versions there: ${Object.keys(meta.versions).join(', ')})`,
    };
  }
  const res = await vault.request<{ data: { data: SecretData } }>('read secret version', {
    method: 'GET',
    path: `${dataPath(m, key)}?version=${chosen}`,
    token,
  });
  return { data: res.data.data, version: chosen };
}

/** The live secret's state (and, when present, its data, for a comparison that only reports names). */
export async function readLive(
  vault: VaultHttp,
  token: string,
  m: KvMount,
  key: string,
): Promise<LiveState & { data?: SecretData; fields: string[] }> {
  if (m.version === 1) {
    const data = await vault
      .request<{ data: SecretData }>('read live secret', { method: 'GET', path: dataPath(m, key), token })
      .then((r) => r.data)
      .catch((err: unknown) => {
        if (notFound(err)) return undefined;
        throw err;
      });
    return data ? { state: 'present', version: 0, data, fields: Object.keys(data).sort() } : absent();
  }
  const meta = await readMetadata(vault, token, m, key);
  if (!meta) return absent();
  const current = meta.versions[String(meta.current_version)];
  if (!current || current.deletion_time || current.destroyed) {
    return { state: 'deleted', version: meta.current_version, fields: [] };
  }
  const res = await vault.request<{ data: { data: SecretData } }>('read live secret', {
    method: 'GET',
    path: dataPath(m, key),
    token,
  });
  return {
    state: 'present',
    version: meta.current_version,
    data: res.data.data,
    fields: Object.keys(res.data.data).sort(),
  };
}

function absent(): LiveState & { fields: string[] } {
  return { state: 'absent', version: 0, fields: [] };
}

/**
 * Writes `data` as the secret's new version. KV v2 uses check-and-set with the version the
 * plan saw (0: only if the secret does not exist), so a secret changed since then is refused
 * by Vault itself. Returns the new version (KV v2).
 */
export async function writeSecret(
  vault: VaultHttp,
  token: string,
  m: KvMount,
  key: string,
  data: SecretData,
  cas: number,
): Promise<number | undefined> {
  if (m.version === 1) {
    await vault.request('write secret', { method: 'PUT', path: dataPath(m, key), json: data, token });
    return undefined;
  }
  const res = await vault.request<{ data: { version: number } }>('write secret', {
    method: 'PUT',
    path: dataPath(m, key),
    json: { options: { cas }, data },
    token,
  });
  return res.data.version;
}

/** Field names only: which differ in value, which only the snapshot has, which only the live secret has. */
export function compareFields(
  snapshot: SecretData,
  live: SecretData | undefined,
): { changed: string[]; added: string[]; removed: string[] } {
  const liveData = live ?? {};
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const names = (o: SecretData) => Object.keys(o).sort();
  return {
    changed: names(snapshot).filter((f) => f in liveData && !same(snapshot[f], liveData[f])),
    added: names(snapshot).filter((f) => !(f in liveData)),
    removed: names(liveData).filter((f) => !(f in snapshot)),
  };
}
