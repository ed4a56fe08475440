// What the bench needs from the local stack: its env (.stack/env), the pinned CLIs in .tools/,
// and a worker config of its own (a `bench` cluster that is prod under its own S3 prefix, and
// drill as its drill), so bench runs never touch prod's real snapshots or retention.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vaultFor } from '../activities/deps';
import { resolveActiveNode } from '../activities/vault/active-node';
import type { VaultHttp } from '../activities/vault/vault-http';
import type { ClusterConfig } from '../config/cluster-schema';

export const repoRoot = join(__dirname, '..');
const stackDir = join(repoRoot, '.stack');
const toolsBin = join(repoRoot, '.tools', 'venv', 'bin');

export interface BenchContext {
  env: Record<string, string>;
  bao: string;
  aws: string;
  prodRootToken: string;
  prodKeys: { keys: string[]; threshold: number };
  drillRootToken: string;
  bucket: string;
  /** Undefined when the S3 store has no SSE-KMS (SeaweedFS): then nothing is encrypted by KMS. */
  kmsKeyId: string | undefined;
  /** The S3 store measured: moto (the stack's), or SeaweedFS under scripts/with-seaweedfs.sh. */
  s3Store: 'moto' | 'seaweedfs';
  s3Endpoint: string;
  /** The worker config file the bench's worker runs with. */
  configFile: string;
  /** S3 prefix of everything the bench writes; deleted at the end. */
  prefix: string;
  /** The stack's prod (its load balancer) and drill, as the worker reaches them (CA, TLS server name). */
  prod: ClusterConfig;
  drill: ClusterConfig;
}

/** A Vault client for one of the stack's clusters, at `address` if given (one of its nodes). */
export function benchVault(cluster: ClusterConfig, address?: string): VaultHttp {
  return vaultFor({ ...cluster, ...(address ? { address } : {}) }, 300_000);
}

/** prod's active node: where the raw "limit" reads go, since a standby's snapshot is not the whole one. */
export async function activeProdNode(ctx: BenchContext): Promise<VaultHttp> {
  return (await resolveActiveNode(benchVault(ctx.prod))).vault;
}

/**
 * The TLS flags the stack's clusters need, for curl and for the bao CLI: trust the stack's CA
 * and check the certificate against the cluster's DNS name (the nodes' certificates do not all
 * cover 127.0.0.1).
 */
export function tlsFlags(
  cluster: ClusterConfig,
  url: string,
): { curl: string[]; baoEnv: NodeJS.ProcessEnv; url: string } {
  const { hostname, port } = new URL(url);
  const name = cluster.tlsServerName ?? hostname;
  return {
    curl: ['--cacert', cluster.caCertFile ?? '', '--resolve', `${name}:${port}:${hostname}`],
    baoEnv: { VAULT_CACERT: cluster.caCertFile ?? '', VAULT_TLS_SERVER_NAME: name },
    url: url.replace(hostname, name),
  };
}

function readEnvFile(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

export function loadBenchContext(): BenchContext {
  const envFile = join(stackDir, 'env');
  if (!existsSync(envFile)) throw new Error(`${envFile} is missing: run "npm run stack:up" first, then the bench`);
  const bao = join(toolsBin, 'bao');
  const aws = join(toolsBin, 'aws');
  for (const tool of [bao, aws]) {
    if (!existsSync(tool)) throw new Error(`${tool} is missing: run "bash scripts/install-tools.sh" (pinned tools)`);
  }
  const env = readEnvFile(envFile);
  const init = (name: string) =>
    JSON.parse(readFileSync(join(stackDir, `bao-${name}`, 'init.json'), 'utf8')) as {
      keys: string[];
      threshold: number;
      rootToken: string;
      seal: string;
    };
  const prod = init('prod');
  const prefix = 'bench';
  // scripts/with-seaweedfs.sh points S3 (only) at SeaweedFS, which has no SSE-KMS.
  const s3Store = process.env.VSNAP_TEST_S3 === 'seaweedfs' ? 'seaweedfs' : 'moto';
  const kmsKeyId = s3Store === 'moto' ? env.VSNAP_KMS_KEY_ID : undefined;
  const stackConfig = JSON.parse(readFileSync(env.VSNAP_CONFIG, 'utf8')) as { clusters: ClusterConfig[] };
  const prodCluster = stackConfig.clusters.find((c) => c.name === 'prod')!;
  const drillCluster = stackConfig.clusters.find((c) => c.name === 'drill')!;
  const clusters: ClusterConfig[] = [
    {
      ...prodCluster,
      name: 'bench',
      storage: { bucket: prodCluster.storage.bucket, prefix: `${prefix}/vsnap`, ...(kmsKeyId ? { kmsKeyId } : {}) },
      retention: { keep: 2 },
      protected: false,
    },
    { ...drillCluster, drillSource: 'bench' },
  ];
  // Each store has its own file: the bench's SeaweedFS step runs while a moto worker's config
  // must stay as it is for the workers started after it.
  const configFile = join(stackDir, s3Store === 'moto' ? 'bench.config.json' : 'bench-seaweedfs.config.json');
  writeFileSync(configFile, JSON.stringify({ clusters }, null, 2));
  return {
    env,
    bao,
    aws,
    prodRootToken: prod.rootToken,
    prodKeys: { keys: prod.keys, threshold: prod.threshold },
    drillRootToken: init('drill').rootToken,
    bucket: env.VSNAP_BUCKET,
    kmsKeyId,
    s3Store,
    s3Endpoint: process.env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL,
    configFile,
    prefix,
    prod: prodCluster,
    drill: drillCluster,
  };
}
