// Where a cluster's further copies (storage.copies) live. One home for the prefix default, so the
// copy step, retention, restores from a copy and `vsnap snapshots list` all look in the same place.
import type { ClusterConfig, StorageCopyConfig } from '../../config/cluster-schema';
import { keyAtPrefix } from './snapshot-keys';

export interface CopyLocation {
  bucket: string;
  prefix: string;
}

/** A copy's location with its name, as a backup plan lists the copies to make. */
export interface NamedCopyLocation extends CopyLocation {
  name: string;
}

/** The copy's bucket and prefix; a copy without a prefix mirrors the cluster's own key layout. */
export function copyLocation(cluster: Pick<ClusterConfig, 'storage'>, copy: StorageCopyConfig): CopyLocation {
  return { bucket: copy.bucket, prefix: copy.prefix ?? cluster.storage.prefix };
}

/** The snapshot key at a copy's location for a key under the cluster's own prefix (same file name). */
export function copyKeyFor(cluster: Pick<ClusterConfig, 'storage'>, copy: StorageCopyConfig, key: string): string {
  return keyAtPrefix(copyLocation(cluster, copy).prefix, key);
}
