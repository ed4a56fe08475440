// The sidecar manifest written next to every snapshot once it is complete and validated.
// A snapshot without a manifest is not a valid backup (its run did not finish).
import type { ArchiveFacts } from '../archive/snapshot-archive';
import type { Inventory } from '../vault/inventory';

export const MANIFEST_FORMAT = 'vsnap.manifest/v1';

export interface CanaryRecord {
  /** KV v2 mount/path, e.g. secret/check_timestamp */
  path: string;
  /** Unix seconds written just before the snapshot (the cron-job procedure's check_timestamp value). */
  value: number;
  workflowId: string;
}

export interface SnapshotManifest {
  format: typeof MANIFEST_FORMAT;
  cluster: string;
  key: string;
  sha256: string;
  size: number;
  createdAt: string;
  workflowId: string;
  runId: string;
  vault: { address: string; activeAddress: string; version?: string; clusterName?: string; clusterId?: string };
  raft: Pick<ArchiveFacts, 'raftIndex' | 'raftTerm' | 'raftVersion' | 'configurationIndex'>;
  archive: Pick<ArchiveFacts, 'metaSha256' | 'stateSha256' | 'stateSize'>;
  canary: CanaryRecord;
  /** What the cluster held when the snapshot was taken; a restore drill compares it. */
  inventory?: Inventory;
}
