// The one shared test setup: the local stack's addresses and credentials (.stack/env), a
// vsnap config pointed at it, and a real vsnap worker on a test-private task queue.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import { Runtime, DefaultLogger } from '@temporalio/worker';
import '../../worker/quiet-sdk-warnings';
import { connectTemporal, type VsnapClient } from '../../client/connection';
import { type ClusterConfig, loadConfig, type VsnapConfig } from '../../worker/config';
import { createVsnapWorker } from '../../worker/create-worker';
import { vaultFor } from '../../activities/deps';
import type { VaultHttp } from '../../activities/vault/vault-http';
import { createLogger } from '../../worker/logger';

export const repoRoot = join(__dirname, '..', '..');
export const stackDir = join(repoRoot, '.stack');
export const bao = join(repoRoot, '.tools', 'venv', 'bin', 'bao');

function readStackEnv(): Record<string, string> {
  const file = join(stackDir, 'env');
  if (!existsSync(file)) throw new Error(`${file} is missing: run "npm run stack:up" before the integration tests`);
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

/** The stack's env, also applied to process.env so the AWS SDK finds moto. */
export const stackEnv = readStackEnv();
Object.assign(process.env, stackEnv);

// Quiet the Temporal SDK's own console logging in test output.
Runtime.install({ logger: new DefaultLogger('WARN') });

export interface BaoInitFile {
  seal: 'transit' | 'shamir' | 'static';
  keys: string[];
  threshold: number;
  rootToken: string;
}

export function baoInit(cluster: 'prod' | 'drill'): BaoInitFile {
  return JSON.parse(readFileSync(join(stackDir, `bao-${cluster}`, 'init.json'), 'utf8')) as BaoInitFile;
}

export function appRoleCredentials(): { roleId: string; secretId: string } {
  return JSON.parse(readFileSync(join(stackDir, 'bao-prod', 'approle.json'), 'utf8')) as {
    roleId: string;
    secretId: string;
  };
}

/** Every secret value the stack created: none may appear in history, logs or CLI output. */
export function stackSecrets(): string[] {
  const { secretId, roleId } = appRoleCredentials();
  const secrets = [secretId, roleId, baoInit('prod').rootToken, baoInit('drill').rootToken];
  for (const c of ['prod', 'drill'] as const) secrets.push(...baoInit(c).keys);
  return secrets;
}

/** Asserts that no stack secret appears in `text`, in plain text or base64. */
export function findLeakedSecrets(text: string): string[] {
  return stackSecrets().filter(
    (s) => text.includes(s) || text.includes(Buffer.from(s).toString('base64')) || text.includes(encodeURIComponent(s)),
  );
}

/**
 * Whether S3 is SeaweedFS (scripts/with-seaweedfs.sh) rather than moto. The SDK routes S3 alone
 * there through AWS_ENDPOINT_URL_S3, so the worker and s3Client() share it. SeaweedFS has no
 * SSE-KMS (it answers 500), so clusters store without storage.kmsKeyId there.
 */
const s3IsSeaweedFs = process.env.VSNAP_TEST_S3 === 'seaweedfs';

/** A cluster config as the test S3 store can serve it. */
function forTestStore(cluster: ClusterConfig): ClusterConfig {
  if (!s3IsSeaweedFs || cluster.storage.kmsKeyId === undefined) return cluster;
  const storage = { ...cluster.storage };
  delete storage.kmsKeyId;
  return { ...cluster, storage };
}

export function stackConfig(): VsnapConfig {
  const config = loadConfig({ ...process.env, ...stackEnv });
  return { ...config, clusters: config.clusters.map(forTestStore) };
}

export function prodCluster(config: VsnapConfig = stackConfig()): ClusterConfig {
  return config.clusters.find((c) => c.name === 'prod')!;
}

/**
 * A client for the stack's prod or drill, built from its cluster config as the worker builds
 * one (CA, TLS server name): at the cluster's address, or at `address` (one of prod's nodes).
 */
export function stackVault(
  cluster: 'prod' | 'drill',
  options: { address?: string; timeoutMs?: number } = {},
): VaultHttp {
  const config = stackConfig().clusters.find((c) => c.name === cluster)!;
  return vaultFor({ ...config, ...(options.address ? { address: options.address } : {}) }, options.timeoutMs);
}

/** The addresses of prod's nodes, one by one (prod's own address is its load balancer). */
const prodNodeAddresses: string[] = (stackEnv.VSNAP_PROD_NODE_ADDRS ?? '').split(',').filter(Boolean);

/**
 * The address of prod's active node, asked of each node itself: through the load balancer,
 * sys/leader answers "is_self" from whichever node took the call. A proxy that must see every
 * request of a backup goes in front of it (in front of the balancer, a standby would name the
 * leader and vsnap would go there directly); a namespace is made there (a standby learns of it
 * a moment later).
 */
export async function activeProdNode(): Promise<string> {
  for (const address of prodNodeAddresses) {
    const health = await stackVault('prod', { address })
      .health()
      .catch(() => undefined);
    if (health && !health.sealed && !health.standby) return address;
  }
  throw new Error(`no active node among prod's ${prodNodeAddresses.join(', ')}`);
}

/** What a fault proxy needs to reach one of the stack's https:// clusters. */
export function stackUpstreamTls(cluster: 'prod' | 'drill'): { ca: string; servername: string } {
  const config = stackConfig().clusters.find((c) => c.name === cluster)!;
  return { ca: readFileSync(config.caCertFile!, 'utf8'), servername: config.tlsServerName! };
}

/** A copy of prod's cluster config under a name and an S3 prefix of its own, so tests do not share snapshots. */
export function isolatedCluster(name: string, changes: Partial<ClusterConfig> = {}): ClusterConfig {
  const prod = prodCluster();
  return {
    ...prod,
    name,
    storage: { ...prod.storage, prefix: `test/${randomUUID().slice(0, 8)}/${name}` },
    ...changes,
  };
}

/** The S3 client the tests inspect the bucket with; its endpoint comes from the same env as the worker's. */
export function s3Client(): S3Client {
  return new S3Client({ forcePathStyle: true });
}

export interface TestWorker {
  temporal: VsnapClient;
  taskQueue: string;
  config: VsnapConfig;
  /** Every JSON log line the worker wrote. */
  logs: string[];
  stop(): Promise<void>;
}

/** Starts a real vsnap worker (same code as production) for the given clusters. */
export async function startTestWorker(
  options: {
    clusters?: ClusterConfig[];
    env?: NodeJS.ProcessEnv;
    partSizeBytes?: number;
    /** Copies above this size take UploadPartCopy (VSNAP_TEST_COPY_PART_BYTES). */
    copyPartBytes?: number;
    s3Endpoint?: string;
    /** A workflow bundle with test workflows besides vsnap's (e.g. test/fixtures/lock-workflows.ts). */
    workflowBundlePath?: string;
  } = {},
): Promise<TestWorker> {
  const base = stackConfig();
  const taskQueue = `test-${randomUUID()}`;
  const config: VsnapConfig = {
    ...base,
    temporal: { ...base.temporal, taskQueue },
    clusters: (options.clusters ?? base.clusters).map(forTestStore),
    ...(options.partSizeBytes ? { partSizeBytes: options.partSizeBytes } : {}),
    ...(options.copyPartBytes ? { copyPartBytes: options.copyPartBytes } : {}),
    ...(options.s3Endpoint ? { aws: { ...base.aws, s3Endpoint: options.s3Endpoint } } : {}),
  };
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger('debug', sink);
  const vsnap = await createVsnapWorker({
    config,
    logger,
    env: { ...process.env, ...options.env },
    ...(options.workflowBundlePath ? { workflowBundlePath: options.workflowBundlePath } : {}),
  });
  const running = vsnap.worker.run();
  const temporal = await connectTemporal({ taskQueue });
  return {
    temporal,
    taskQueue,
    config,
    logs,
    async stop() {
      vsnap.worker.shutdown();
      await running;
      await vsnap.shutdown();
      await temporal.close();
    },
  };
}
