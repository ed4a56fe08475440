// How the `vsnap snapshots` subcommands reach a cluster's stored snapshots: the worker's config,
// the cluster's bucket and prefix, and the S3 layer. Nothing here touches Temporal, the worker or
// Vault, so these commands work when those are down, which is when an operator needs them.
import type { SnapshotManifest } from '../activities/storage/manifest';
import { SnapshotStore } from '../activities/storage/snapshot-store';
import type { S3Client } from '@aws-sdk/client-s3';
import type { StorageCopyConfig } from '../config/cluster-schema';
import { createAwsClients, createCopyS3Client } from '../worker/aws-clients';
import { type ClusterConfig, ConfigError, findCluster, loadConfig, type VsnapConfig } from '../worker/config';
import { UsageError } from './cli';

export interface ClusterContext {
  config: VsnapConfig;
  cluster: ClusterConfig;
}

/** The worker's config and the chosen cluster; any problem is a usage error (exit 2). */
export function clusterContext(subcommand: string, name: string | undefined, env = process.env): ClusterContext {
  const where = `vsnap snapshots ${subcommand}`;
  // Without VSNAP_CONFIG the worker falls back to the cron-job procedure's env vars; with neither there is
  // nothing to read, and loadConfig's "VAULT_ADDR is required" would not say what to do.
  if (!env.VSNAP_CONFIG && !env.BUCKET_NAME) {
    throw new UsageError(
      `${where}: VSNAP_CONFIG is not set. Point it at the worker's cluster config: ` +
        `export VSNAP_CONFIG=/path/to/vsnap.config.json (README "Configuration"; ` +
        `on the local stack: set -a; . .stack/env; set +a)`,
    );
  }
  let config: VsnapConfig;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`${where}: ${err.message}`);
    throw err;
  }
  const cluster = findCluster(config, name);
  if (!cluster) {
    const names = config.clusters.map((c) => c.name).join(', ');
    throw new UsageError(`${where}: unknown cluster "${name}"; configured clusters: ${names}`);
  }
  return { config, cluster };
}

/**
 * The cluster's store, and the store of any of its copies (storage.copies: the copy's region and
 * role), each client made when first used and destroyed at the end.
 */
export async function withStore<T>(
  subcommand: string,
  config: VsnapConfig,
  use: (store: SnapshotStore, copyStore: (copy: StorageCopyConfig) => SnapshotStore) => Promise<T>,
): Promise<T> {
  const actor = `vsnap snapshots ${subcommand}`;
  const aws = createAwsClients(config, actor);
  const copyClients = new Map<string, S3Client>();
  const copyStore = (copy: StorageCopyConfig) => {
    let s3 = copyClients.get(copy.name);
    if (!s3) {
      s3 = createCopyS3Client(config, copy, actor);
      copyClients.set(copy.name, s3);
    }
    return new SnapshotStore(s3);
  };
  try {
    return await use(new SnapshotStore(aws.s3), copyStore);
  } finally {
    aws.destroy();
    for (const s3 of copyClients.values()) s3.destroy();
  }
}

/** An S3 location from a key, a bare file name under the cluster's prefix, or s3://BUCKET/KEY. */
export function storedLocation(target: string, cluster: ClusterConfig): { bucket: string; key: string } {
  const url = /^s3:\/\/([^/]+)\/(.+)$/.exec(target);
  if (url) return { bucket: url[1], key: url[2] };
  const key = target.includes('/') ? target : `${cluster.storage.prefix}/${target}`;
  return { bucket: cluster.storage.bucket, key };
}

/** What the bytes read from S3 were, against what the backup recorded; undefined when they agree. */
export function manifestMismatch(
  read: { size: number; sha256: string },
  manifest: Pick<SnapshotManifest, 'size' | 'sha256'>,
): string | undefined {
  if (manifest.sha256 === read.sha256 && manifest.size === read.size) return undefined;
  return (
    `the object is ${read.size} bytes with SHA-256 ${read.sha256}, but its manifest recorded ` +
    `${manifest.size} bytes with SHA-256 ${manifest.sha256}: it was altered or damaged after the backup`
  );
}

/** An error's message; network errors (an AggregateError of connection attempts) may have none. */
export function errorText(err: unknown): string {
  if (err instanceof AggregateError && !err.message && err.errors.length > 0) return errorText(err.errors[0]);
  if (err instanceof Error) return err.message || (err as NodeJS.ErrnoException).code || err.name;
  return String(err);
}
