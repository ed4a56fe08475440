// What the activities need from the outside world. Built once by the worker (or by a test,
// pointed at the local stack) and handed to createActivities: no module-level singletons.
import { readFileSync } from 'node:fs';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Logger } from 'pino';
import { ApplicationFailure } from '@temporalio/common';
import type { StorageCopyConfig } from '../config/cluster-schema';
import { findCluster, type ClusterConfig, type UploadSettings, type VsnapConfig } from '../worker/config';
import { FailureType } from '../workflows/names';
import type { VsnapMetrics } from './metrics';
import type { SnapshotStore } from './storage/snapshot-store';
import { type VaultEndpoint, VaultHttp } from './vault/vault-http';

export interface ActivityDeps {
  config: Pick<VsnapConfig, 'clusters'> & UploadSettings;
  store: SnapshotStore;
  /** The store of one further copy (storage.copies): its region, and its role in another account. */
  copyStore(copy: StorageCopyConfig): SnapshotStore;
  secretsManager: SecretsManagerClient;
  kms: KMSClient;
  logger: Logger;
  /** Where credentials named by env-var in the config are read from (process.env in production). */
  env: NodeJS.ProcessEnv;
  metrics: VsnapMetrics;
}

/** The cluster by name, or a non-retryable failure that lists the configured ones. */
export function clusterOrFail(deps: ActivityDeps, name: string | undefined): ClusterConfig {
  const cluster = findCluster(deps.config, name);
  if (cluster) return cluster;
  const known = deps.config.clusters.map((c) => c.name).join(', ') || '(none)';
  throw ApplicationFailure.create({
    type: FailureType.UnknownCluster,
    message: `unknown cluster "${name}"; this worker is configured for: ${known}`,
    nonRetryable: true,
  });
}

/** The Vault client of a configured cluster: its address, CA, TLS server name, client certificate and namespace. */
export function vaultFor(cluster: ClusterConfig, timeoutMs?: number): VaultHttp {
  const read = (file: string | undefined) => (file ? readFileSync(file, 'utf8') : undefined);
  const endpoint: VaultEndpoint = { address: cluster.address, ...(timeoutMs ? { timeoutMs } : {}) };
  const caCert = read(cluster.caCertFile);
  const clientCert = read(cluster.clientCertFile);
  const clientKey = read(cluster.clientKeyFile);
  if (caCert) endpoint.caCert = caCert;
  if (clientCert) endpoint.clientCert = clientCert;
  if (clientKey) endpoint.clientKey = clientKey;
  if (cluster.tlsServerName) endpoint.tlsServerName = cluster.tlsServerName;
  if (cluster.namespace) endpoint.namespace = cluster.namespace;
  return new VaultHttp(endpoint);
}
