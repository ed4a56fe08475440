// The one config parser: environment variables plus an optional JSON file listing Vault
// clusters. Validation collects every problem, so an operator fixes a config in one pass.
import { existsSync, readFileSync } from 'node:fs';
import type { KeySourceConfig } from '../activities/keys/key-shares';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import { S3_MAX_PART_BYTES, S3_MAX_PARTS, S3_MIN_PART_BYTES } from '../activities/storage/part-sizes';
import { DEFAULT_TASK_QUEUE, EPHEMERAL_TARGET } from '../workflows/names';
import { DEFAULT_DEPLOYMENT_NAME } from './versioning';

export type AppRoleCredentialSource =
  /** Role and secret IDs from environment variables (the cron-job procedure's External Secret sets these names). */
  | { source: 'env'; roleIdEnv: string; secretIdEnv: string }
  /** A Secrets Manager secret holding JSON with APPROLE_ROLE_ID and APPROLE_SECRET_ID, as the cron-job procedure stores it. */
  | { source: 'secretsManager'; secretId: string };

export type VaultAuthConfig =
  | { method: 'approle'; mount: string; credentials: AppRoleCredentialSource }
  | { method: 'kubernetes'; mount: string; role: string; jwtPath: string }
  /** A token from an environment variable. vsnap never revokes it: it is the operator's. */
  | { method: 'token'; tokenEnv: string };

export interface ClusterConfig {
  name: string;
  address: string;
  caCertFile?: string;
  /** The name Vault's certificate is checked against when the address's host is not in it. */
  tlsServerName?: string;
  /** A client certificate and key (PEM files) for listeners that require mutual TLS. */
  clientCertFile?: string;
  clientKeyFile?: string;
  /** The namespace vsnap's calls are made in (Vault Enterprise, OpenBao); snapshots are root-only. */
  namespace?: string;
  /** Allows an http:// address: tokens, secret IDs and key shares would cross the network in clear. */
  allowInsecureHttp?: boolean;
  auth: VaultAuthConfig;
  storage: { bucket: string; prefix: string; kmsKeyId?: string };
  retention: { keep: number; maxAgeDays?: number };
  /** KV v2 mount and path of the canary written before each snapshot (the cron-job procedure's secret/check_timestamp). */
  canary: { mount: string; path: string };
  /**
   * A protected cluster is never a restore target without an approval (the `approve` update).
   * Every cluster is protected unless its config says `"protected": false` (VSNAP_PROTECTED=false).
   */
  protected: boolean;
  /**
   * This cluster's key shares (Shamir unseal keys, or recovery keys with auto-unseal), for
   * regenerating a root token and unsealing after a restore.
   */
  keyShares?: KeySourceConfig;
  /**
   * For a drill cluster: the cluster whose snapshots it rehearses. Restores from that source
   * into this cluster are declared intent (no `force` needed) and are `verify`'s default.
   */
  drillSource?: string;
  /** How this cluster's snapshots are rehearsed when no drill cluster is configured for it. */
  drill?: { ephemeral: EphemeralDrillConfig };
}

/**
 * A throwaway server the worker starts beside itself, on loopback, to restore a snapshot into:
 * for a restore drill with no standing drill cluster, and to read one secret out of a snapshot.
 */
export interface EphemeralDrillConfig {
  /** A `bao` or `vault` binary at least as new as the cluster it rehearses. */
  binary: string;
  /** Where each throwaway server's Raft directory is made (and wiped); an emptyDir in Kubernetes. */
  dataDir: string;
  /** Snapshots larger than this are refused before anything starts; size dataDir at 3x it. */
  maxSnapshotBytes: number;
  /**
   * How the restored server unseals: with the cluster's own Shamir unseal keys (its keyShares),
   * or by the same auto-unseal seal as the cluster (a `seal "awskms" {...}` or "transit" stanza
   * in an HCL file), which then needs the cluster's recovery keys as its keyShares.
   */
  seal: { type: 'shamir' } | { type: 'auto'; stanzaFile: string };
}

export interface VsnapConfig {
  /** Address and namespace when set in env; otherwise the Temporal envconfig profile decides. */
  temporal: { address?: string; namespace?: string; taskQueue: string };
  /** s3Endpoint: AWS_ENDPOINT_URL_S3, for an S3-compatible store (the SDK's own variable, read here so a test's env counts). */
  aws: { region?: string; s3ForcePathStyle: boolean; s3Endpoint?: string };
  /**
   * Size of a snapshot upload's first parts; later parts double as the snapshot grows
   * (activities/storage/part-sizes.ts documents the schedule and the memory it implies).
   */
  partSizeBytes: number;
  /** Parts uploaded in parallel per snapshot; memory per upload is (this + 1) parts. */
  uploadConcurrency: number;
  /**
   * The most parts one upload may have: S3's 10,000. Only tests lower it
   * (VSNAP_TEST_MAX_UPLOAD_PARTS), so that a small snapshot makes the part sizes grow.
   */
  maxUploadParts: number;
  /**
   * How long Vault may send nothing while vsnap waits for the next bytes of a snapshot (the
   * first byte included) before the read fails and is retried. Time vsnap itself spends not
   * reading, because S3 is slower than Vault, does not count.
   */
  vaultStreamIdleSeconds: number;
  logLevel: string;
  clusters: ClusterConfig[];
  /** host:port of the Prometheus endpoint (SDK and vsnap metrics); unset = off. */
  metricsAddress?: string;
  /** host:port of /healthz and /readyz; unset = off. */
  healthAddress?: string;
  /** How long in-flight activities may run on after SIGTERM; keep it below the pod's grace period. */
  shutdownGraceSeconds: number;
  /**
   * This worker's Worker Deployment Version (VSNAP_DEPLOYMENT_NAME, VSNAP_BUILD_ID, baked into
   * the image); unset = an unversioned worker, as in local runs and tests.
   */
  deployment?: WorkerDeploymentVersion;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid vsnap configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];
const MiB = 1024 * 1024;
const MIN_PART_MIB = S3_MIN_PART_BYTES / MiB;
const MAX_PART_MIB = S3_MAX_PART_BYTES / MiB;
const MAX_UPLOAD_CONCURRENCY = 16;
/**
 * The part buffers an upload starts with, (concurrency + 1) x part size, must fit in this: parts
 * only grow from there (part-sizes.ts), and a worker already past it has no room left to grow.
 */
const PART_BUFFERS_BUDGET_MIB = 1024;
const MAX_VAULT_STREAM_IDLE_SECONDS = 3600;

type Raw = Record<string, unknown>;

/** Reads the worker's configuration from `env` (and the file `VSNAP_CONFIG` names, if any). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): VsnapConfig {
  const problems: string[] = [];
  const upload = uploadFrom(env, problems);
  const logLevel = env.LOG_LEVEL ?? 'info';
  const shutdownGraceSeconds = intFrom(env, 'VSNAP_SHUTDOWN_GRACE_SECONDS', 60, problems);
  if (shutdownGraceSeconds < 1) problems.push('VSNAP_SHUTDOWN_GRACE_SECONDS must be >= 1');
  for (const name of ['VSNAP_METRICS_ADDRESS', 'VSNAP_HEALTH_ADDRESS']) {
    const value = env[name];
    if (value && !/^[\w.:[\]-]+:\d{1,5}$/.test(value))
      problems.push(`${name}=${value} must be host:port, e.g. 0.0.0.0:9464`);
  }
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL=${logLevel} is not one of ${LOG_LEVELS.join(', ')}`);

  let clusters: ClusterConfig[] = [];
  const file = env.VSNAP_CONFIG;
  if (file) {
    const raw = readConfigFile(file, problems);
    if (raw) clusters = parseClusters(raw.clusters, `${file}: clusters`, problems);
  } else {
    clusters = [clusterFromEnv(env, problems)];
  }

  const config: VsnapConfig = {
    temporal: {
      ...(env.TEMPORAL_ADDRESS ? { address: env.TEMPORAL_ADDRESS } : {}),
      ...(env.TEMPORAL_NAMESPACE ? { namespace: env.TEMPORAL_NAMESPACE } : {}),
      taskQueue: env.VSNAP_TASK_QUEUE || DEFAULT_TASK_QUEUE,
    },
    aws: {
      ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
      s3ForcePathStyle: env.VSNAP_S3_FORCE_PATH_STYLE === 'true',
      ...(env.AWS_ENDPOINT_URL_S3 ? { s3Endpoint: env.AWS_ENDPOINT_URL_S3 } : {}),
    },
    ...upload,
    logLevel,
    clusters,
    ...(env.VSNAP_METRICS_ADDRESS ? { metricsAddress: env.VSNAP_METRICS_ADDRESS } : {}),
    ...(env.VSNAP_HEALTH_ADDRESS ? { healthAddress: env.VSNAP_HEALTH_ADDRESS } : {}),
    shutdownGraceSeconds,
    ...deploymentFrom(env, problems),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

type UploadSettings = Pick<
  VsnapConfig,
  'partSizeBytes' | 'uploadConcurrency' | 'maxUploadParts' | 'vaultStreamIdleSeconds'
>;

/** How snapshots stream from Vault into S3: within S3's limits and a memory budget. */
function uploadFrom(env: NodeJS.ProcessEnv, problems: string[]): UploadSettings {
  const partMiB = intFrom(env, 'VSNAP_PART_SIZE_MIB', 8, problems);
  const partSizeOk = partMiB >= MIN_PART_MIB && partMiB <= MAX_PART_MIB;
  if (Number.isInteger(partMiB) && !partSizeOk) {
    problems.push(
      `VSNAP_PART_SIZE_MIB must be >= ${MIN_PART_MIB} (S3's minimum part size) and <= ${MAX_PART_MIB} ` +
        `(S3's maximum), got ${partMiB}; the default, 8, suits most clusters`,
    );
  }
  // 4 in flight: S3 caps each connection (about 80 MB/s from EC2), so 2 parts at a time could
  // not keep up with Vault's read (about 250 MB/s here); on the bench's modelled network, 4 was
  // a quarter faster than 2 for 16 MiB more part buffers (bench/README.md, "The modelled network").
  const uploadConcurrency = intFrom(env, 'VSNAP_UPLOAD_CONCURRENCY', 4, problems);
  const concurrencyOk = uploadConcurrency >= 1 && uploadConcurrency <= MAX_UPLOAD_CONCURRENCY;
  if (Number.isInteger(uploadConcurrency) && !concurrencyOk) {
    problems.push(
      `VSNAP_UPLOAD_CONCURRENCY must be 1 to ${MAX_UPLOAD_CONCURRENCY}, got ${uploadConcurrency}; ` +
        'the default, 2, keeps memory low',
    );
  }
  const buffersMiB = (uploadConcurrency + 1) * partMiB;
  if (partSizeOk && concurrencyOk && buffersMiB > PART_BUFFERS_BUDGET_MIB) {
    problems.push(
      `VSNAP_UPLOAD_CONCURRENCY=${uploadConcurrency} with VSNAP_PART_SIZE_MIB=${partMiB} holds ` +
        `(${uploadConcurrency} + 1) x ${partMiB} MiB = ${buffersMiB} MiB of parts in memory from the first byte, ` +
        `over the ${PART_BUFFERS_BUDGET_MIB} MiB vsnap allows: lower either (the defaults, 2 and 8, hold 24 MiB; ` +
        'parts grow on their own for large snapshots)',
    );
  }
  const maxUploadParts = intFrom(env, 'VSNAP_TEST_MAX_UPLOAD_PARTS', S3_MAX_PARTS, problems);
  if (Number.isInteger(maxUploadParts) && (maxUploadParts < 1 || maxUploadParts > S3_MAX_PARTS)) {
    problems.push(
      `VSNAP_TEST_MAX_UPLOAD_PARTS must be 1 to ${S3_MAX_PARTS} (S3's limit), got ${maxUploadParts}; ` +
        'it exists for tests: leave it unset',
    );
  }
  const vaultStreamIdleSeconds = intFrom(env, 'VSNAP_VAULT_STREAM_IDLE_SECONDS', 30, problems);
  if (
    Number.isInteger(vaultStreamIdleSeconds) &&
    (vaultStreamIdleSeconds < 1 || vaultStreamIdleSeconds > MAX_VAULT_STREAM_IDLE_SECONDS)
  ) {
    problems.push(
      `VSNAP_VAULT_STREAM_IDLE_SECONDS must be 1 to ${MAX_VAULT_STREAM_IDLE_SECONDS}, got ${vaultStreamIdleSeconds}: ` +
        'how long Vault may send nothing mid-snapshot (default 30); raise it for a cluster slow to start its snapshot',
    );
  }
  return { partSizeBytes: partMiB * MiB, uploadConcurrency, maxUploadParts, vaultStreamIdleSeconds };
}

function intFrom(env: NodeJS.ProcessEnv, name: string, fallback: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value)) problems.push(`${name}=${raw} must be an integer`);
  return value;
}

/** Just the Worker Deployment Version (for the rollout's set-current-version step); undefined without a build id. */
export function loadDeploymentVersion(env: NodeJS.ProcessEnv = process.env): WorkerDeploymentVersion | undefined {
  const problems: string[] = [];
  const { deployment } = deploymentFrom(env, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return deployment;
}

/** The Worker Deployment Version, when the image names a build id. */
function deploymentFrom(env: NodeJS.ProcessEnv, problems: string[]): { deployment?: WorkerDeploymentVersion } {
  const buildId = env.VSNAP_BUILD_ID;
  if (!buildId) return {};
  const deploymentName = env.VSNAP_DEPLOYMENT_NAME || DEFAULT_DEPLOYMENT_NAME;
  // Temporal names a version "<deployment>.<build id>", so the first dot ends the deployment name.
  if (deploymentName.includes('.')) problems.push(`VSNAP_DEPLOYMENT_NAME=${deploymentName} must not contain "."`);
  for (const [name, value] of [
    ['VSNAP_DEPLOYMENT_NAME', deploymentName],
    ['VSNAP_BUILD_ID', buildId],
  ]) {
    if (!/^[\w.+-]{1,255}$/.test(value)) {
      problems.push(`${name}=${value} must be 1 to 255 letters, digits and ._+- (e.g. an image tag or a git commit)`);
    }
  }
  return { deployment: { deploymentName, buildId } };
}

function readConfigFile(file: string, problems: string[]): Raw | undefined {
  if (!existsSync(file)) {
    problems.push(`VSNAP_CONFIG=${file}: no such file; point it at a JSON config (see README "Configuration")`);
    return undefined;
  }
  try {
    const raw: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) return raw as Raw;
    problems.push(`${file}: must hold a JSON object with a "clusters" array`);
  } catch (err) {
    problems.push(`${file}: not valid JSON (${(err as Error).message})`);
  }
  return undefined;
}

/** The cron-job procedure's deployment, with no file: one cluster from VAULT_ADDR, BUCKET_NAME and the AppRole env vars. */
function clusterFromEnv(env: NodeJS.ProcessEnv, problems: string[]): ClusterConfig {
  const name = env.VSNAP_CLUSTER || 'vault';
  const raw: Raw = {
    name,
    address: env.VAULT_ADDR,
    caCertFile: env.VAULT_CACERT,
    tlsServerName: env.VAULT_TLS_SERVER_NAME,
    clientCertFile: env.VAULT_CLIENT_CERT,
    clientKeyFile: env.VAULT_CLIENT_KEY,
    allowInsecureHttp: env.VSNAP_ALLOW_INSECURE_HTTP === 'true',
    auth: authFromEnv(env),
    storage: { bucket: env.BUCKET_NAME, prefix: env.VSNAP_PREFIX, kmsKeyId: env.VSNAP_KMS_KEY_ID },
    retention: {
      keep: env.VSNAP_KEEP ? Number(env.VSNAP_KEEP) : undefined,
      maxAgeDays: env.VSNAP_MAX_AGE_DAYS ? Number(env.VSNAP_MAX_AGE_DAYS) : undefined,
    },
    // "true" and "false" become booleans; any other value stays a string so parseCluster names it.
    protected:
      env.VSNAP_PROTECTED === 'true'
        ? true
        : env.VSNAP_PROTECTED === 'false'
          ? false
          : env.VSNAP_PROTECTED || undefined,
  };
  const before = problems.length;
  const cluster = parseCluster(raw, 'env', problems);
  // Name env vars, not JSON fields, in what an operator has to fix.
  for (let i = before; i < problems.length; i++) {
    problems[i] = problems[i]
      .replace('env: address', 'VAULT_ADDR')
      .replace('env: storage.bucket', 'BUCKET_NAME')
      .replace('env: protected', 'VSNAP_PROTECTED')
      .replace('env: ', 'env ');
  }
  return cluster;
}

function authFromEnv(env: NodeJS.ProcessEnv): Raw {
  switch (env.VSNAP_AUTH_METHOD || 'approle') {
    case 'kubernetes':
      return { method: 'kubernetes', role: env.VSNAP_K8S_ROLE, mount: env.VSNAP_AUTH_MOUNT };
    case 'token':
      return { method: 'token' };
    case 'approle':
      return env.VSNAP_APPROLE_SECRET_ARN
        ? { method: 'approle', credentials: { source: 'secretsManager', secretId: env.VSNAP_APPROLE_SECRET_ARN } }
        : { method: 'approle', credentials: { source: 'env' } };
    default:
      return { method: env.VSNAP_AUTH_METHOD };
  }
}

function parseClusters(raw: unknown, where: string, problems: string[]): ClusterConfig[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    problems.push(`${where} must be a non-empty array of clusters`);
    return [];
  }
  const clusters = raw.map((c, i) => parseCluster(c, `${where}[${i}]`, problems));
  const seen = new Set<string>();
  for (const c of clusters) {
    if (seen.has(c.name)) problems.push(`${where}: cluster name "${c.name}" appears twice; names must be unique`);
    seen.add(c.name);
  }
  checkDrillSources(clusters, where, problems);
  return clusters;
}

function parseCluster(raw: unknown, where: string, problems: string[]): ClusterConfig {
  const c = (typeof raw === 'object' && raw !== null ? raw : {}) as Raw;
  const str = (value: unknown, field: string, hint: string): string => {
    if (typeof value === 'string' && value.length > 0) return value;
    problems.push(`${where}: ${field} is required (${hint})`);
    return '';
  };
  const name = str(c.name, 'name', 'a short lowercase name such as "prod"');
  if (name && !NAME.test(name)) problems.push(`${where}: name "${name}" must be lowercase letters, digits and dashes`);
  if (name === EPHEMERAL_TARGET) {
    problems.push(`${where}: name "${EPHEMERAL_TARGET}" is reserved (it names a cluster's throwaway drill server)`);
  }
  const address = str(c.address, 'address', 'the Vault API address, e.g. https://vault.example.com:8200');
  if (address && !/^https?:\/\/[^/]+/.test(address)) {
    problems.push(`${where}: address "${address}" must be an http(s) URL such as https://vault.example.com:8200`);
  }
  const storage = (c.storage ?? {}) as Raw;
  const bucket = str(storage.bucket, 'storage.bucket', 'the S3 bucket that holds snapshots');
  const prefix =
    typeof storage.prefix === 'string' && storage.prefix ? storage.prefix.replace(/\/+$/, '') : `vsnap/${name}`;
  const retention = (c.retention ?? {}) as Raw;
  const keep = retention.keep ?? 28;
  if (!Number.isInteger(keep) || (keep as number) < 1) {
    problems.push(`${where}: retention.keep must be an integer >= 1, got ${JSON.stringify(keep)}`);
  }
  const maxAgeDays = retention.maxAgeDays;
  if (maxAgeDays !== undefined && !(typeof maxAgeDays === 'number' && maxAgeDays > 0)) {
    problems.push(`${where}: retention.maxAgeDays must be a number > 0, got ${JSON.stringify(maxAgeDays)}`);
  }
  const canary = (c.canary ?? {}) as Raw;
  if (c.protected !== undefined && typeof c.protected !== 'boolean') {
    problems.push(`${where}: protected must be true or false (default true), got ${JSON.stringify(c.protected)}`);
  }
  const tls = parseTls(c, address, where, problems);
  return {
    name,
    address,
    ...tls,
    auth: parseAuth(c.auth, `${where}: auth`, problems),
    storage: {
      bucket,
      prefix,
      ...(typeof storage.kmsKeyId === 'string' && storage.kmsKeyId ? { kmsKeyId: storage.kmsKeyId } : {}),
    },
    retention: { keep: keep as number, ...(maxAgeDays !== undefined ? { maxAgeDays: maxAgeDays as number } : {}) },
    canary: {
      mount: typeof canary.mount === 'string' ? canary.mount : 'secret',
      path: typeof canary.path === 'string' ? canary.path : 'check_timestamp',
    },
    // Protected unless the config says otherwise: forgetting the field must not expose production.
    protected: c.protected !== false,
    ...(c.keyShares !== undefined ? { keyShares: parseKeySource(c.keyShares, `${where}: keyShares`, problems) } : {}),
    ...(typeof c.drillSource === 'string' && c.drillSource ? { drillSource: c.drillSource } : {}),
    ...(c.drill !== undefined ? { drill: parseDrill(c.drill, `${where}: drill`, problems) } : {}),
  };
}

function parseDrill(raw: unknown, where: string, problems: string[]): { ephemeral: EphemeralDrillConfig } {
  const d = (typeof raw === 'object' && raw !== null ? raw : {}) as Raw;
  const e = (typeof d.ephemeral === 'object' && d.ephemeral !== null ? d.ephemeral : undefined) as Raw | undefined;
  if (!e) {
    problems.push(`${where}.ephemeral is required: { "binary", "dataDir", "maxSnapshotBytes", "seal" }`);
    return { ephemeral: { binary: '', dataDir: '', maxSnapshotBytes: 0, seal: { type: 'shamir' } } };
  }
  const at = `${where}.ephemeral`;
  const path = (field: string, hint: string): string => {
    const value = e[field];
    if (typeof value === 'string' && value.startsWith('/')) return value;
    problems.push(`${at}.${field} must be an absolute path (${hint}), got ${JSON.stringify(value)}`);
    return '';
  };
  const binary = path('binary', 'a bao or vault binary, e.g. /usr/local/bin/bao');
  const dataDir = path('dataDir', 'a writable directory with room for 3x the largest snapshot');
  const maxSnapshotBytes = e.maxSnapshotBytes;
  if (!Number.isInteger(maxSnapshotBytes) || (maxSnapshotBytes as number) < 1) {
    problems.push(
      `${at}.maxSnapshotBytes must be a positive integer (bytes, e.g. 1073741824 for 1 GiB), got ${JSON.stringify(maxSnapshotBytes)}`,
    );
  }
  const sealRaw = (typeof e.seal === 'object' && e.seal !== null ? e.seal : {}) as Raw;
  let seal: EphemeralDrillConfig['seal'] = { type: 'shamir' };
  if (sealRaw.type === 'auto') {
    const stanzaFile = sealRaw.stanzaFile;
    if (typeof stanzaFile !== 'string' || !stanzaFile.startsWith('/')) {
      problems.push(`${at}.seal.stanzaFile must be the absolute path of an HCL file holding the cluster's seal stanza`);
    }
    seal = { type: 'auto', stanzaFile: typeof stanzaFile === 'string' ? stanzaFile : '' };
  } else if (sealRaw.type !== 'shamir') {
    problems.push(
      `${at}.seal must be { "type": "shamir" } (unseal with the cluster's key shares) or ` +
        `{ "type": "auto", "stanzaFile": "/path/seal.hcl" } (the cluster's own auto-unseal), got ${JSON.stringify(e.seal)}`,
    );
  }
  return { ephemeral: { binary, dataDir, maxSnapshotBytes: maxSnapshotBytes as number, seal } };
}

type ClusterTls = Pick<
  ClusterConfig,
  'caCertFile' | 'tlsServerName' | 'clientCertFile' | 'clientKeyFile' | 'namespace' | 'allowInsecureHttp'
>;

/** How vsnap reaches the cluster: its CA, server name, client certificate, namespace, and plain HTTP only by choice. */
function parseTls(c: Raw, address: string, where: string, problems: string[]): ClusterTls {
  const text = (field: string): string | undefined => {
    const value = c[field];
    if (value === undefined || value === '') return undefined;
    if (typeof value === 'string') return value;
    problems.push(`${where}: ${field} must be a string, got ${JSON.stringify(value)}`);
    return undefined;
  };
  const file = (field: string): string | undefined => {
    const path = text(field);
    if (path && !existsSync(path)) problems.push(`${where}: ${field} ${path} does not exist`);
    return path;
  };
  const out: ClusterTls = {};
  const caCertFile = file('caCertFile');
  const clientCertFile = file('clientCertFile');
  const clientKeyFile = file('clientKeyFile');
  const tlsServerName = text('tlsServerName');
  const namespace = text('namespace')?.replace(/^\/+|\/+$/g, '');
  if (caCertFile) out.caCertFile = caCertFile;
  if (clientCertFile) out.clientCertFile = clientCertFile;
  if (clientKeyFile) out.clientKeyFile = clientKeyFile;
  if (tlsServerName) out.tlsServerName = tlsServerName;
  if (namespace) out.namespace = namespace;
  if (Boolean(clientCertFile) !== Boolean(clientKeyFile)) {
    problems.push(`${where}: clientCertFile and clientKeyFile go together; set both for mutual TLS, or neither`);
  }
  if (c.allowInsecureHttp !== undefined && typeof c.allowInsecureHttp !== 'boolean') {
    problems.push(`${where}: allowInsecureHttp must be true or false`);
  }
  if (c.allowInsecureHttp === true) out.allowInsecureHttp = true;
  if (address.startsWith('http://') && !out.allowInsecureHttp) {
    problems.push(
      `${where}: address ${address} is plain http: vsnap would send Vault tokens, AppRole secret IDs and key ` +
        'shares unencrypted. Use https://, or set "allowInsecureHttp": true (VSNAP_ALLOW_INSECURE_HTTP=true) ' +
        'for a Vault reached only over a trusted local link',
    );
  }
  return out;
}

function parseAuth(raw: unknown, where: string, problems: string[]): VaultAuthConfig {
  const a = (typeof raw === 'object' && raw !== null ? raw : {}) as Raw;
  const mount = (fallback: string) => (typeof a.mount === 'string' && a.mount ? a.mount : fallback);
  switch (a.method) {
    case 'approle': {
      const creds = (a.credentials ?? { source: 'env' }) as Raw;
      if (creds.source === 'secretsManager') {
        if (typeof creds.secretId !== 'string' || !creds.secretId) {
          problems.push(`${where}.credentials.secretId is required: the Secrets Manager secret name or ARN`);
        }
        return {
          method: 'approle',
          mount: mount('approle'),
          credentials: { source: 'secretsManager', secretId: typeof creds.secretId === 'string' ? creds.secretId : '' },
        };
      }
      if (creds.source !== 'env') {
        problems.push(
          `${where}.credentials.source must be "env" or "secretsManager", got ${JSON.stringify(creds.source)}`,
        );
      }
      return {
        method: 'approle',
        mount: mount('approle'),
        credentials: {
          source: 'env',
          roleIdEnv: typeof creds.roleIdEnv === 'string' ? creds.roleIdEnv : 'APPROLE_ROLE_ID',
          secretIdEnv: typeof creds.secretIdEnv === 'string' ? creds.secretIdEnv : 'APPROLE_SECRET_ID',
        },
      };
    }
    case 'kubernetes':
      if (typeof a.role !== 'string' || !a.role)
        problems.push(`${where}.role is required for Kubernetes auth (the Vault role name)`);
      return {
        method: 'kubernetes',
        mount: mount('kubernetes'),
        role: typeof a.role === 'string' ? a.role : '',
        jwtPath: typeof a.jwtPath === 'string' ? a.jwtPath : '/var/run/secrets/kubernetes.io/serviceaccount/token',
      };
    case 'token':
      return { method: 'token', tokenEnv: typeof a.tokenEnv === 'string' ? a.tokenEnv : 'VAULT_TOKEN' };
    default:
      problems.push(`${where}.method must be one of approle, kubernetes, token; got ${JSON.stringify(a.method)}`);
      return { method: 'token', tokenEnv: 'VAULT_TOKEN' };
  }
}

function parseKeySource(raw: unknown, where: string, problems: string[]): KeySourceConfig {
  const k = (typeof raw === 'object' && raw !== null ? raw : {}) as Raw;
  const need = (field: string, hint: string): string => {
    const value = k[field];
    if (typeof value === 'string' && value) return value;
    problems.push(`${where}.${field} is required for source "${String(k.source)}" (${hint})`);
    return '';
  };
  switch (k.source) {
    case 'secretsManager':
      return { source: 'secretsManager', secretId: need('secretId', 'the secret name or ARN') };
    case 'file':
      return { source: 'file', path: need('path', 'a mounted file with the shares') };
    case 'env':
      return { source: 'env', name: need('name', 'the variable holding the shares') };
    default:
      problems.push(`${where}.source must be one of secretsManager, file, env; got ${JSON.stringify(k.source)}`);
      return { source: 'env', name: '' };
  }
}

/** Every drill cluster's source must be a configured cluster other than itself. */
function checkDrillSources(clusters: ClusterConfig[], where: string, problems: string[]): void {
  const names = new Set(clusters.map((c) => c.name));
  for (const c of clusters) {
    if (c.drill && !c.keyShares) {
      problems.push(
        `${where}: cluster ${c.name} has an ephemeral drill but no keyShares; the throwaway server is unsealed ` +
          'and its root regenerated with them (Shamir unseal keys, or recovery keys with auto-unseal)',
      );
    }
    if (c.drillSource === undefined) continue;
    if (c.drillSource === c.name) problems.push(`${where}: cluster ${c.name} cannot be its own drillSource`);
    else if (!names.has(c.drillSource)) {
      problems.push(
        `${where}: cluster ${c.name} has drillSource "${c.drillSource}", which is not a configured cluster`,
      );
    }
  }
}

/** Looks a cluster up by name; undefined picks the first configured one. */
export function findCluster(
  config: Pick<VsnapConfig, 'clusters'>,
  name: string | undefined,
): ClusterConfig | undefined {
  return name === undefined ? config.clusters[0] : config.clusters.find((c) => c.name === name);
}
