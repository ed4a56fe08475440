// Seeds the stack's `prod` cluster with data shaped like a company's Vault: KV v1 and v2 mounts
// (one nested, one with a 25,000-key folder), transit keys, a PKI root, userpass users with
// identity entities and a group, realistic ACL policies, and a namespace with its own mounts.
// Backup and restore code then meets a cluster that looks like the ones it will back up.
// Idempotent: what exists is left as it is, so `stack:up` can run it every time.
import { createHash, randomBytes } from 'node:crypto';
import { VaultRequestError } from '../../activities/vault/vault-errors';
import type { VaultHttp, VaultRequest } from '../../activities/vault/vault-http';

export interface KvMountSeed {
  /** Mount path with its trailing slash, as `sys/mounts` names it. */
  path: string;
  version: 1 | 2;
  /** Key (relative to the mount) -> fields. Values are derived from the key, so tests can recompute them. */
  secrets: Record<string, Record<string, string>>;
}

export interface NamespaceSeed {
  /** Namespace path with its trailing slash, as `sys/namespaces` names it. */
  path: string;
  kvMounts: KvMountSeed[];
  userpassMount: string;
  users: Record<string, string[]>;
  policies: Record<string, string>;
}

export interface RealisticDataSummary {
  /** Every KV mount this seed owns (not the stack's `secret/`), with its key count including markers. */
  kvMounts: { path: string; version: 1 | 2; keys: number }[];
  bulkFolder: { mount: string; folder: string; keys: number; markerKey: string; writtenThisRun: number };
  transit: { mount: string; keys: string[] };
  pki: { mount: string; role: string; rootGeneratedThisRun: boolean };
  userpass: { mount: string; users: string[] };
  policies: string[];
  entities: string[];
  groups: string[];
  namespaces: { path: string; kvMounts: { path: string; keys: number }[]; authMounts: string[]; policies: string[] }[];
}

/** A fake secret value derived from where it lives, so a re-run writes nothing new and tests can predict it. */
export function seededValue(mount: string, key: string, field: string): string {
  return createHash('sha256').update(`${mount}${key}#${field}`).digest('base64url').slice(0, 24);
}

function kvMount(path: string, version: 1 | 2, layout: Record<string, string[]>): KvMountSeed {
  const secrets = Object.fromEntries(
    Object.entries(layout).map(([key, fields]) => [
      key,
      Object.fromEntries(fields.map((field) => [field, seededValue(path, key, field)])),
    ]),
  );
  return { path, version, secrets };
}

export const KV_MOUNTS: readonly KvMountSeed[] = [
  kvMount('legacy/', 1, {
    'apps/billing/database': ['username', 'password'],
    'apps/billing/smtp': ['username', 'password'],
    'apps/ledger/database': ['username', 'password'],
    'apps/ledger/hsm': ['pin'],
    'apps/reporting/s3': ['access_key', 'secret_key'],
    'shared/ldap/bind': ['bind_dn', 'password'],
    'shared/snmp/community': ['community'],
  }),
  kvMount('team/a/kv/', 2, {
    'apps/checkout/database': ['username', 'password'],
    'apps/checkout/stripe': ['api_key', 'webhook_secret'],
    'apps/checkout/redis': ['password'],
    'apps/catalog/database': ['username', 'password'],
    'apps/catalog/elasticsearch': ['username', 'password'],
    'apps/catalog/feature-flags': ['sdk_key'],
    'envs/staging/checkout/database': ['username', 'password'],
    'envs/staging/catalog/database': ['username', 'password'],
  }),
  kvMount('team/b/kv/', 2, {
    'apps/search/opensearch': ['username', 'password'],
    'apps/search/openai': ['api_key'],
    'apps/notifications/twilio': ['account_sid', 'auth_token'],
    'apps/notifications/sendgrid': ['api_key'],
    'apps/notifications/firebase': ['service_account_json'],
    'apps/auth/jwt': ['signing_key'],
    'apps/auth/oauth-google': ['client_id', 'client_secret'],
  }),
  kvMount('ci/', 1, {
    'apps/web/deploy': ['token'],
    'apps/api/deploy': ['token'],
    'pipelines/github/app': ['app_id', 'private_key'],
    'pipelines/docker/registry': ['username', 'password'],
    'pipelines/sonar/token': ['token'],
    'pipelines/npm/publish': ['token'],
    'terraform/aws/prod': ['access_key', 'secret_key'],
    'terraform/aws/staging': ['access_key', 'secret_key'],
  }),
];

/**
 * The large folder: one LIST of it returns 25,000 keys, as a multi-tenant app's folder does.
 * The marker lies outside the folder and is written last, so "marker present" means "folder complete".
 */
export const BULK_FOLDER = {
  mount: 'bulk/',
  folder: 'tenants/',
  keys: 25_000,
  markerKey: '_seed/tenants-complete',
} as const;

export function bulkKey(index: number): string {
  return `${BULK_FOLDER.folder}t-${String(index).padStart(5, '0')}`;
}

/** Writes in flight while filling the bulk folder: enough to keep Raft's batching busy on a 2-core runner. */
const BULK_CONCURRENCY = 32;

export const TRANSIT_MOUNT = 'transit/';
export const TRANSIT_KEYS: Readonly<Record<string, string>> = {
  payments: 'aes256-gcm96',
  sessions: 'chacha20-poly1305',
  'release-signing': 'rsa-2048',
};

export const PKI_MOUNT = 'pki/';
export const PKI_ROLE = 'internal-services';
const PKI_DOMAIN = 'internal.example.com';

export const USERPASS_MOUNT = 'userpass/';
/** User -> the policies their token carries (the admin's come through the group). */
export const USERPASS_USERS: Readonly<Record<string, string[]>> = {
  alice: ['team-a-write'],
  bob: ['team-b-write'],
  carol: ['team-a-read', 'team-b-read'],
  dave: ['auditor'],
  'deploy-bot': ['ci-deployer'],
};

/** Entity name -> metadata; each entity has an alias to the userpass user of the same name. */
export const ENTITIES: Readonly<Record<string, Record<string, string>>> = {
  alice: { team: 'checkout', email: 'alice@example.com' },
  bob: { team: 'platform', email: 'bob@example.com' },
  carol: { team: 'data', email: 'carol@example.com' },
  dave: { team: 'security', email: 'dave@example.com' },
  'deploy-bot': { team: 'platform', kind: 'service-account' },
};

export const GROUP = { name: 'platform-admins', members: ['bob', 'dave'], policies: ['admin'] } as const;

export const POLICIES: Readonly<Record<string, string>> = {
  admin: 'path "*" {\n  capabilities = ["create", "read", "update", "delete", "list", "sudo"]\n}\n',
  auditor: [
    'path "sys/policies/acl/*" {\n  capabilities = ["read", "list"]\n}',
    'path "sys/mounts" {\n  capabilities = ["read"]\n}',
    'path "sys/auth" {\n  capabilities = ["read"]\n}',
    'path "sys/audit" {\n  capabilities = ["read", "sudo"]\n}\n',
  ].join('\n'),
  'team-a-read': kvReadPolicy('team/a/kv/'),
  'team-a-write': kvWritePolicy('team/a/kv/'),
  'team-b-read': kvReadPolicy('team/b/kv/'),
  'team-b-write': kvWritePolicy('team/b/kv/'),
  'billing-app': 'path "legacy/apps/billing/*" {\n  capabilities = ["read"]\n}\n',
  'ci-deployer': [
    'path "ci/*" {\n  capabilities = ["read", "list"]\n}',
    'path "transit/sign/release-signing" {\n  capabilities = ["update"]\n}',
    `path "pki/issue/${PKI_ROLE}" {\n  capabilities = ["update"]\n}\n`,
  ].join('\n'),
  'payments-crypto': [
    'path "transit/encrypt/payments" {\n  capabilities = ["update"]\n}',
    'path "transit/decrypt/payments" {\n  capabilities = ["update"]\n}\n',
  ].join('\n'),
};

function kvReadPolicy(mount: string): string {
  return (
    `path "${mount}data/*" {\n  capabilities = ["read"]\n}\n` +
    `path "${mount}metadata/*" {\n  capabilities = ["read", "list"]\n}\n`
  );
}

function kvWritePolicy(mount: string): string {
  return (
    `path "${mount}data/*" {\n  capabilities = ["create", "read", "update", "delete"]\n}\n` +
    `path "${mount}metadata/*" {\n  capabilities = ["read", "list", "delete"]\n}\n`
  );
}

export const TEAM_NAMESPACE: NamespaceSeed = {
  path: 'team-ns/',
  kvMounts: [
    kvMount('kv/', 2, {
      'apps/portal/database': ['username', 'password'],
      'apps/portal/session': ['signing_key'],
      'apps/portal/sso': ['client_id', 'client_secret'],
      'apps/portal/cdn': ['api_token'],
    }),
  ],
  userpassMount: 'userpass/',
  users: { erin: ['portal-read'], frank: ['portal-read'] },
  policies: { 'portal-read': kvReadPolicy('kv/') },
};

/** One seeding run: the client, the root token, and where a namespace's paths start. */
interface Target {
  vault: VaultHttp;
  token: string;
  log: (msg: string) => void;
  /** "" for the root namespace, "team-ns/" inside one. */
  namespace: string;
}

/**
 * Creates what is missing of the data above on a cluster, as root, and says what the cluster
 * now holds. A first run takes about half a minute (the bulk folder); later runs well under a second.
 */
export async function seedRealisticData(
  vault: VaultHttp,
  rootToken: string,
  log: (msg: string) => void = () => undefined,
): Promise<RealisticDataSummary> {
  const root: Target = { vault, token: rootToken, log, namespace: '' };
  for (const mount of KV_MOUNTS) await seedKvMount(root, mount);
  const writtenThisRun = await seedBulkFolder(root);
  await seedTransit(root);
  const rootGeneratedThisRun = await seedPki(root);
  await writePolicies(root, POLICIES);
  await seedUserpass(root, USERPASS_MOUNT, USERPASS_USERS);
  await seedIdentity(root);
  await seedNamespace(root, TEAM_NAMESPACE);

  return {
    kvMounts: [
      ...KV_MOUNTS.map(({ path, version, secrets }) => ({ path, version, keys: Object.keys(secrets).length })),
      { path: BULK_FOLDER.mount, version: 2, keys: BULK_FOLDER.keys + 1 },
    ],
    bulkFolder: { ...BULK_FOLDER, writtenThisRun },
    transit: { mount: TRANSIT_MOUNT, keys: Object.keys(TRANSIT_KEYS) },
    pki: { mount: PKI_MOUNT, role: PKI_ROLE, rootGeneratedThisRun },
    userpass: { mount: USERPASS_MOUNT, users: Object.keys(USERPASS_USERS) },
    policies: Object.keys(POLICIES),
    entities: Object.keys(ENTITIES),
    groups: [GROUP.name],
    namespaces: [
      {
        path: TEAM_NAMESPACE.path,
        kvMounts: TEAM_NAMESPACE.kvMounts.map(({ path, secrets }) => ({ path, keys: Object.keys(secrets).length })),
        authMounts: [TEAM_NAMESPACE.userpassMount],
        policies: Object.keys(TEAM_NAMESPACE.policies),
      },
    ],
  };
}

async function send<T = Record<string, unknown>>(
  target: Target,
  operation: string,
  req: Omit<VaultRequest, 'token'>,
): Promise<T> {
  // The path form of a namespace (`/v1/team-ns/sys/mounts`) needs no X-Vault-Namespace header,
  // which VaultHttp does not send.
  const prefix = target.namespace ? `/${target.namespace.replace(/\/$/, '')}` : '';
  return target.vault.request<T>(operation, { ...req, path: prefix + req.path, token: target.token });
}

/** GET (or LIST) that answers `undefined` for Vault's 404, which means "nothing there yet". */
async function readIfPresent<T>(
  target: Target,
  operation: string,
  path: string,
  method: 'GET' | 'LIST' = 'GET',
): Promise<T | undefined> {
  try {
    return await send<T>(target, operation, { method, path });
  } catch (err) {
    if (err instanceof VaultRequestError && err.status === 404) return undefined;
    throw err;
  }
}

type KvLocation = Pick<KvMountSeed, 'path' | 'version'>;

/** Enables a secrets engine or auth method; one already at that path is left as it is. */
async function enable(
  target: Target,
  kind: 'mounts' | 'auth',
  path: string,
  json: { type: string; [option: string]: unknown },
): Promise<void> {
  try {
    await send(target, `enable ${json.type} at ${path}`, {
      method: 'POST',
      path: `/sys/${kind}/${path.replace(/\/$/, '')}`,
      json,
    });
  } catch (err) {
    if (!(err instanceof VaultRequestError && /already in use/.test(err.message))) throw err;
  }
}

/**
 * A new KV v2 mount answers 400 "Upgrading from non-versioned to versioned data" for a few
 * milliseconds after it is enabled, while it writes its first metadata; wait that out.
 */
async function enableKv(target: Target, mount: KvLocation): Promise<void> {
  await enable(target, 'mounts', mount.path, { type: 'kv', options: { version: String(mount.version) } });
  if (mount.version === 1) return;
  const deadline = Date.now() + 10_000;
  while (!(await kvServes(target, mount))) {
    if (Date.now() > deadline) throw new Error(`${target.namespace}${mount.path} is still upgrading after 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function kvServes(target: Target, mount: KvLocation): Promise<boolean> {
  try {
    await readIfPresent(target, `wait for ${mount.path}`, kvDataPath(mount, 'ready-check'));
    return true;
  } catch (err) {
    if (err instanceof VaultRequestError && /Upgrading/.test(err.message)) return false;
    throw err;
  }
}

function kvDataPath(mount: KvLocation, key: string): string {
  return mount.version === 2 ? `/${mount.path}data/${key}` : `/${mount.path}${key}`;
}

/** Writes a KV secret only where none is: a KV v2 re-write would add a version on every run. */
async function writeSecretIfMissing(
  target: Target,
  mount: KvLocation,
  key: string,
  data: Record<string, string>,
): Promise<boolean> {
  const path = kvDataPath(mount, key);
  if (await readIfPresent(target, `read ${mount.path}${key}`, path)) return false;
  await send(target, `write ${mount.path}${key}`, {
    method: 'POST',
    path,
    json: mount.version === 2 ? { data } : data,
  });
  return true;
}

async function seedKvMount(target: Target, mount: KvMountSeed): Promise<void> {
  await enableKv(target, mount);
  let written = 0;
  for (const [key, data] of Object.entries(mount.secrets)) {
    if (await writeSecretIfMissing(target, mount, key, data)) written++;
  }
  target.log(`${target.namespace}${mount.path}: ${written} of ${Object.keys(mount.secrets).length} secrets written`);
}

/**
 * Fills `bulk/tenants/` with BULK_FOLDER.keys tiny secrets, BULK_CONCURRENCY at a time. An
 * interrupted run resumes: the folder is listed once and only the missing keys are written.
 * Returns how many keys this run wrote (0 once the marker is there).
 */
async function seedBulkFolder(target: Target): Promise<number> {
  const mount: KvLocation = { path: BULK_FOLDER.mount, version: 2 };
  await enableKv(target, mount);
  if (await readIfPresent(target, 'read bulk marker', kvDataPath(mount, BULK_FOLDER.markerKey))) return 0;

  const listed = await readIfPresent<{ data: { keys: string[] } }>(
    target,
    `list ${mount.path}${BULK_FOLDER.folder}`,
    `/${mount.path}metadata/${BULK_FOLDER.folder}`,
    'LIST',
  );
  const present = new Set((listed?.data.keys ?? []).map((name) => `${BULK_FOLDER.folder}${name}`));
  const missing = Array.from({ length: BULK_FOLDER.keys }, (_, i) => bulkKey(i + 1)).filter((k) => !present.has(k));

  const started = Date.now();
  let done = 0;
  await forEachConcurrently(missing, BULK_CONCURRENCY, async (key) => {
    await send(target, `write ${mount.path}${key}`, {
      method: 'POST',
      path: kvDataPath(mount, key),
      json: { data: { tenant: key.slice(BULK_FOLDER.folder.length), plan: 'standard' } },
    });
    if (++done % 5_000 === 0) target.log(`${mount.path}${BULK_FOLDER.folder}: ${done} of ${missing.length} written`);
  });
  const seconds = (Date.now() - started) / 1000;
  target.log(
    `${mount.path}${BULK_FOLDER.folder}: ${missing.length} keys written in ${seconds.toFixed(1)} s ` +
      `(${Math.round(missing.length / Math.max(seconds, 0.001))}/s, ${BULK_CONCURRENCY} in flight)`,
  );
  await send(target, 'write bulk marker', {
    method: 'POST',
    path: kvDataPath(mount, BULK_FOLDER.markerKey),
    json: { data: { keys: String(BULK_FOLDER.keys) } },
  });
  return missing.length;
}

/** Runs `work` over `items` with at most `limit` calls in flight; the first failure stops the rest. */
async function forEachConcurrently<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++];
      try {
        await work(item);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

async function seedTransit(target: Target): Promise<void> {
  await enable(target, 'mounts', TRANSIT_MOUNT, { type: 'transit' });
  for (const [name, type] of Object.entries(TRANSIT_KEYS)) {
    const path = `/${TRANSIT_MOUNT}keys/${name}`;
    if (await readIfPresent(target, `read transit key ${name}`, path)) continue;
    await send(target, `create transit key ${name}`, { method: 'POST', path, json: { type } });
  }
}

/**
 * A root CA, a role, and two issued certificates (so the mount's storage holds certs, as a
 * used one does). Generating a root again would add a second issuer, hence the check.
 * Returns whether this run generated the root.
 */
async function seedPki(target: Target): Promise<boolean> {
  // The mount's default max TTL (32 days) would cap the root's 10 years.
  await enable(target, 'mounts', PKI_MOUNT, { type: 'pki', config: { max_lease_ttl: '87600h' } });
  await send(target, `write PKI role ${PKI_ROLE}`, {
    method: 'POST',
    path: `/${PKI_MOUNT}roles/${PKI_ROLE}`,
    json: { allowed_domains: PKI_DOMAIN, allow_subdomains: true, max_ttl: '720h', key_type: 'ec' },
  });
  if (await readIfPresent(target, 'list PKI issuers', `/${PKI_MOUNT}issuers`, 'LIST')) return false;

  await send(target, 'generate PKI root', {
    method: 'POST',
    path: `/${PKI_MOUNT}root/generate/internal`,
    json: { common_name: 'Example Corp Internal Root CA', ttl: '87600h', issuer_name: 'root-ca', key_type: 'ec' },
  });
  for (const host of ['checkout', 'catalog']) {
    await send(target, `issue certificate for ${host}`, {
      method: 'POST',
      path: `/${PKI_MOUNT}issue/${PKI_ROLE}`,
      json: { common_name: `${host}.${PKI_DOMAIN}`, ttl: '72h' },
    });
  }
  return true;
}

async function writePolicies(target: Target, policies: Readonly<Record<string, string>>): Promise<void> {
  for (const [name, policy] of Object.entries(policies)) {
    await send(target, `write policy ${name}`, { method: 'PUT', path: `/sys/policies/acl/${name}`, json: { policy } });
  }
}

/** Users get random passwords, never printed: nothing logs in as them, they are there to be backed up. */
async function seedUserpass(target: Target, mount: string, users: Readonly<Record<string, string[]>>): Promise<void> {
  await enable(target, 'auth', mount, { type: 'userpass' });
  for (const [name, policies] of Object.entries(users)) {
    const path = `/auth/${mount}users/${name}`;
    if (await readIfPresent(target, `read user ${name}`, path)) continue;
    await send(target, `create user ${name}`, {
      method: 'POST',
      path,
      json: { password: randomBytes(18).toString('base64url'), token_policies: policies },
    });
  }
}

interface EntityRead {
  data: { id: string; aliases: { mount_accessor: string; name: string }[] | null };
}

/** Entities with aliases to the userpass users, and one group; names are unique, so writes by name upsert. */
async function seedIdentity(target: Target): Promise<void> {
  const auths = await send<{ data: Record<string, { accessor: string }> }>(target, 'read auth methods', {
    method: 'GET',
    path: '/sys/auth',
  });
  const accessor = auths.data[USERPASS_MOUNT]?.accessor;
  if (!accessor) throw new Error(`auth method ${USERPASS_MOUNT} has no accessor in sys/auth`);

  const ids: Record<string, string> = {};
  for (const [name, metadata] of Object.entries(ENTITIES)) {
    const path = `/identity/entity/name/${name}`;
    await send(target, `write entity ${name}`, { method: 'POST', path, json: { metadata } });
    const entity = await send<EntityRead>(target, `read entity ${name}`, { method: 'GET', path });
    ids[name] = entity.data.id;
    if ((entity.data.aliases ?? []).some((a) => a.mount_accessor === accessor)) continue;
    await send(target, `alias entity ${name}`, {
      method: 'POST',
      path: '/identity/entity-alias',
      json: { name, canonical_id: entity.data.id, mount_accessor: accessor },
    });
  }
  await send(target, `write group ${GROUP.name}`, {
    method: 'POST',
    path: `/identity/group/name/${GROUP.name}`,
    json: { type: 'internal', policies: GROUP.policies, member_entity_ids: GROUP.members.map((m) => ids[m]) },
  });
}

/** Creates the namespace (a second create answers 200 with the existing one) and what lives inside it. */
async function seedNamespace(root: Target, ns: NamespaceSeed): Promise<void> {
  const name = ns.path.replace(/\/$/, '');
  await send(root, `create namespace ${name}`, { method: 'POST', path: `/sys/namespaces/${name}` });
  const inside: Target = { ...root, namespace: ns.path };
  for (const mount of ns.kvMounts) await seedKvMount(inside, mount);
  await writePolicies(inside, ns.policies);
  await seedUserpass(inside, ns.userpassMount, ns.users);
}
