// The one config parser: environment variables plus an optional JSON file listing Vault
// clusters. The file's clusters are checked by their schema (config/cluster-schema.ts), then by
// what a schema cannot say; env mode builds the same cluster and runs the same checks.
// Validation collects every problem, so an operator fixes a config in one pass.
import { existsSync, readFileSync } from 'node:fs';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import { type ClusterConfig, ClusterFieldsSchema, ClusterSchema, ConfigFileSchema } from '../config/cluster-schema';
import { parseFields, validFields } from '../config/schema-problems';
import { S3_MAX_PART_BYTES, S3_MAX_PARTS, S3_MIN_PART_BYTES } from '../activities/storage/part-sizes';
import { DEFAULT_TASK_QUEUE, EPHEMERAL_TARGET } from '../workflows/names';
import { DEFAULT_DEPLOYMENT_NAME } from './versioning';

export type {
  AppRoleCredentialSource,
  ClusterConfig,
  EphemeralDrillConfig,
  VaultAuthConfig,
} from '../config/cluster-schema';

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
   * Objects up to this size are copied to storage.copies with one CopyObject, larger ones with
   * UploadPartCopy in parts of this size: S3's 5 GiB limit for both. Only tests lower it
   * (VSNAP_TEST_COPY_PART_BYTES), so that a small snapshot takes the multipart path.
   */
  copyPartBytes: number;
  /**
   * How long Vault may send nothing while vsnap waits for the next bytes of a snapshot (the
   * first byte included) before the read fails and is retried. Time vsnap itself spends not
   * reading, because S3 is slower than Vault, does not count.
   */
  vaultStreamIdleSeconds: number;
  /**
   * Tests only (VSNAP_TEST_OBJECT_LOCK_SECONDS): Object Lock retention of this many seconds
   * instead of storage.objectLock.days, so a test can see a lock expire. Unset in production.
   */
  testObjectLockSeconds?: number;
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

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];
const MiB = 1024 * 1024;
const MIN_PART_MIB = S3_MIN_PART_BYTES / MiB;
const MAX_PART_MIB = S3_MAX_PART_BYTES / MiB;
/** S3's largest CopyObject source, and its largest UploadPartCopy part: 5 GiB, as for UploadPart. */
const S3_MAX_COPY_BYTES = S3_MAX_PART_BYTES;
const MAX_UPLOAD_CONCURRENCY = 16;
/**
 * The part buffers an upload starts with, (concurrency + 1) x part size, must fit in this: parts
 * only grow from there (part-sizes.ts), and a worker already past it has no room left to grow.
 */
const PART_BUFFERS_BUDGET_MIB = 1024;
const MAX_VAULT_STREAM_IDLE_SECONDS = 3600;

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

  const file = env.VSNAP_CONFIG;
  const clusters = file ? clustersFromFile(file, problems) : clusterFromEnv(env, problems);

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

/** The settings of the upload and copy paths, read from the environment. */
export type UploadSettings = Pick<
  VsnapConfig,
  | 'partSizeBytes'
  | 'uploadConcurrency'
  | 'maxUploadParts'
  | 'copyPartBytes'
  | 'vaultStreamIdleSeconds'
  | 'testObjectLockSeconds'
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
  const copyPartBytes = intFrom(env, 'VSNAP_TEST_COPY_PART_BYTES', S3_MAX_COPY_BYTES, problems);
  if (Number.isInteger(copyPartBytes) && (copyPartBytes < MIN_PART_MIB * MiB || copyPartBytes > S3_MAX_COPY_BYTES)) {
    problems.push(
      `VSNAP_TEST_COPY_PART_BYTES must be ${MIN_PART_MIB * MiB} to ${S3_MAX_COPY_BYTES} (S3's part limits), ` +
        `got ${copyPartBytes}; it exists for tests: leave it unset`,
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
  const testObjectLockSeconds = env.VSNAP_TEST_OBJECT_LOCK_SECONDS
    ? intFrom(env, 'VSNAP_TEST_OBJECT_LOCK_SECONDS', 0, problems)
    : undefined;
  if (testObjectLockSeconds !== undefined && Number.isInteger(testObjectLockSeconds) && testObjectLockSeconds < 1) {
    problems.push(
      `VSNAP_TEST_OBJECT_LOCK_SECONDS must be a number of seconds >= 1, got ${testObjectLockSeconds}; ` +
        'it exists for tests: leave it unset',
    );
  }
  return {
    partSizeBytes: partMiB * MiB,
    uploadConcurrency,
    maxUploadParts,
    copyPartBytes,
    vaultStreamIdleSeconds,
    ...(testObjectLockSeconds ? { testObjectLockSeconds } : {}),
  };
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

/** The file's JSON, or undefined (and the problem) when it is missing or not JSON. */
function readConfigFile(file: string, problems: string[]): { json: unknown } | undefined {
  if (!existsSync(file)) {
    problems.push(`VSNAP_CONFIG=${file}: no such file; point it at a JSON config (see README "Configuration")`);
    return undefined;
  }
  try {
    return { json: JSON.parse(readFileSync(file, 'utf8')) as unknown };
  } catch (err) {
    problems.push(`${file}: not valid JSON (${(err as Error).message})`);
    return undefined;
  }
}

/** How a problem names a cluster's fields: by their path in a file, by their variable in env mode. */
interface ClusterFields {
  /** What starts a problem: `config.json: clusters[1]: auth.method`, or `VSNAP_AUTH_METHOD`. */
  at(path: PropertyKey[]): string;
  /** A field named inside a sentence: `clientKeyFile`, or `VAULT_CLIENT_KEY`. */
  name(path: PropertyKey[]): string;
}

function fileFields(file: string, index: number): ClusterFields {
  return { at: (path) => `${file}: clusters[${index}]: ${path.join('.')}`, name: (path) => path.join('.') };
}

/** Where a schema problem is: `config.json: clusters[1]: auth.method`, `config.json: clusters`, or the file itself. */
function fileReference(file: string, path: PropertyKey[]): string {
  const [top, index, ...rest] = path;
  if (top === 'clusters' && typeof index === 'number') {
    return rest.length > 0 ? fileFields(file, index).at(rest) : `${file}: clusters[${index}]`;
  }
  return path.length > 0 ? `${file}: ${path.join('.')}` : `${file}:`;
}

function clustersFromFile(file: string, problems: string[]): ClusterConfig[] {
  const raw = readConfigFile(file, problems);
  if (!raw) return [];
  const parsed = parseFields(ConfigFileSchema, raw.json);
  if (!parsed.success) {
    for (const p of parsed.problems) problems.push(`${fileReference(file, p.path)} ${p.text}`);
  }
  const written = isPlainObject(raw.json) && Array.isArray(raw.json.clusters) ? (raw.json.clusters as unknown[]) : [];
  written.forEach((cluster, index) => problems.push(...clusterProblems(cluster, fileFields(file, index))));
  problems.push(...namingProblems(file, written));
  return parsed.success ? parsed.data.clusters : [];
}

/** Names must be unique, and a drill cluster's drillSource must be another configured cluster. */
function namingProblems(file: string, written: unknown[]): string[] {
  const problems: string[] = [];
  const clusters = written.map((c) => validFields(ClusterFieldsSchema, c));
  const names = clusters.flatMap((c) => (c.name === undefined ? [] : [c.name]));
  for (const name of new Set(names.filter((n, i) => names.indexOf(n) !== i))) {
    problems.push(`${file}: clusters: cluster name "${name}" appears twice; names must be unique`);
  }
  clusters.forEach(({ name, drillSource }, index) => {
    if (drillSource === undefined) return;
    const at = fileFields(file, index).at(['drillSource']);
    if (drillSource === name) {
      problems.push(`${at} "${drillSource}" is this cluster itself; name the cluster whose snapshots it rehearses`);
    } else if (!names.includes(drillSource)) {
      problems.push(
        `${at} "${drillSource}" is not a configured cluster (configured: ${[...new Set(names)].join(', ')})`,
      );
    }
  });
  return problems;
}

/**
 * What the schema cannot say about one cluster: its name is not the drill target's, its files
 * exist, a client certificate comes with its key, plain http only by choice, and a drill has key
 * shares to unseal with. Values come from the valid fields; whether a field is there at all,
 * from what was written.
 */
function clusterProblems(cluster: unknown, fields: ClusterFields): string[] {
  const written = isPlainObject(cluster) ? cluster : {};
  const valid = validFields(ClusterFieldsSchema, written);
  const problems: string[] = [];
  if (valid.name === EPHEMERAL_TARGET) {
    problems.push(
      `${fields.at(['name'])} "${EPHEMERAL_TARGET}" is reserved (it names a cluster's throwaway drill server); choose another name`,
    );
  }
  for (const field of ['caCertFile', 'clientCertFile', 'clientKeyFile'] as const) {
    const path = valid[field];
    if (path !== undefined && !existsSync(path)) problems.push(`${fields.at([field])} ${path} does not exist`);
  }
  if ((written.clientCertFile === undefined) !== (written.clientKeyFile === undefined)) {
    problems.push(
      `${fields.at(['clientCertFile'])} and ${fields.name(['clientKeyFile'])} go together; set both for mutual TLS, or neither`,
    );
  }
  if (valid.address?.startsWith('http://') && written.allowInsecureHttp !== true) {
    problems.push(
      `${fields.at(['address'])} ${valid.address} is plain http: vsnap would send Vault tokens, AppRole secret IDs and ` +
        'key shares unencrypted. Use https://, or set "allowInsecureHttp": true (VSNAP_ALLOW_INSECURE_HTTP=true) ' +
        'for a Vault reached only over a trusted local link',
    );
  }
  const copyNames = (valid.storage?.copies ?? []).map((c) => c.name);
  for (const name of new Set(copyNames.filter((n, i) => copyNames.indexOf(n) !== i))) {
    problems.push(`${fields.at(['storage', 'copies'])} copy name "${name}" appears twice; names must be unique`);
  }
  if (written.drill !== undefined && written.keyShares === undefined) {
    problems.push(
      `${fields.at(['keyShares'])} is required with drill.ephemeral: the throwaway server is unsealed and its root ` +
        'regenerated with them (Shamir unseal keys, or recovery keys with auto-unseal)',
    );
  }
  return problems;
}

/** The variable each cluster field comes from in env mode, so that a problem names what to fix. */
const ENV_NAMES: Record<string, string> = {
  name: 'VSNAP_CLUSTER',
  address: 'VAULT_ADDR',
  caCertFile: 'VAULT_CACERT',
  tlsServerName: 'VAULT_TLS_SERVER_NAME',
  clientCertFile: 'VAULT_CLIENT_CERT',
  clientKeyFile: 'VAULT_CLIENT_KEY',
  allowInsecureHttp: 'VSNAP_ALLOW_INSECURE_HTTP',
  'auth.method': 'VSNAP_AUTH_METHOD',
  'auth.mount': 'VSNAP_AUTH_MOUNT',
  'auth.role': 'VSNAP_K8S_ROLE',
  'auth.credentials.secretId': 'VSNAP_APPROLE_SECRET_ARN',
  'storage.bucket': 'BUCKET_NAME',
  'storage.prefix': 'VSNAP_PREFIX',
  'storage.kmsKeyId': 'VSNAP_KMS_KEY_ID',
  'retention.keep': 'VSNAP_KEEP',
  'retention.maxAgeDays': 'VSNAP_MAX_AGE_DAYS',
  protected: 'VSNAP_PROTECTED',
};

const envFields: ClusterFields = {
  name: (path) => ENV_NAMES[path.join('.')] ?? `env cluster ${path.join('.')}`,
  at: (path) => envFields.name(path),
};

/**
 * The cron-job procedure's deployment, with no file: one cluster from VAULT_ADDR, BUCKET_NAME
 * and the AppRole env vars, written as the file would write it and checked by the same schema.
 * An empty variable counts as unset.
 */
function clusterFromEnv(env: NodeJS.ProcessEnv, problems: string[]): ClusterConfig[] {
  const read = (name: string) => env[name] || undefined;
  const protectedText = read('VSNAP_PROTECTED');
  const written = withoutUnset({
    name: read('VSNAP_CLUSTER') ?? 'vault',
    address: read('VAULT_ADDR'),
    caCertFile: read('VAULT_CACERT'),
    tlsServerName: read('VAULT_TLS_SERVER_NAME'),
    clientCertFile: read('VAULT_CLIENT_CERT'),
    clientKeyFile: read('VAULT_CLIENT_KEY'),
    allowInsecureHttp: read('VSNAP_ALLOW_INSECURE_HTTP') === 'true' ? true : undefined,
    auth: authFromEnv(env),
    storage: { bucket: read('BUCKET_NAME'), prefix: read('VSNAP_PREFIX'), kmsKeyId: read('VSNAP_KMS_KEY_ID') },
    retention: { keep: numberFrom(read('VSNAP_KEEP')), maxAgeDays: numberFrom(read('VSNAP_MAX_AGE_DAYS')) },
    // "true" and "false" become booleans; any other text stays text, for the schema to name it.
    protected: protectedText === 'true' ? true : protectedText === 'false' ? false : protectedText,
  });
  const parsed = parseFields(ClusterSchema, written);
  if (!parsed.success) for (const p of parsed.problems) problems.push(`${envFields.at(p.path)} ${p.text}`);
  problems.push(...clusterProblems(written, envFields));
  return parsed.success ? [parsed.data] : [];
}

function authFromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const method = env.VSNAP_AUTH_METHOD || 'approle';
  switch (method) {
    case 'kubernetes':
      return { method, role: env.VSNAP_K8S_ROLE || undefined, mount: env.VSNAP_AUTH_MOUNT || undefined };
    case 'approle':
      return env.VSNAP_APPROLE_SECRET_ARN
        ? { method, credentials: { source: 'secretsManager', secretId: env.VSNAP_APPROLE_SECRET_ARN } }
        : { method, credentials: { source: 'env' } };
    default:
      return { method };
  }
}

/** A number from a variable; text that is not one stays text, for the schema to name it. */
function numberFrom(text: string | undefined): number | string | undefined {
  return text === undefined || Number.isNaN(Number(text)) ? text : Number(text);
}

/** `value` without its unset (undefined) fields, so the schema sees them as left out. */
function withoutUnset(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, isPlainObject(v) ? withoutUnset(v) : v]),
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Looks a cluster up by name; undefined picks the first configured one. */
export function findCluster(
  config: Pick<VsnapConfig, 'clusters'>,
  name: string | undefined,
): ClusterConfig | undefined {
  return name === undefined ? config.clusters[0] : config.clusters.find((c) => c.name === name);
}
