// Which stored snapshot a run means: "latest" (the newest with a manifest) or an exact key of
// the cluster's, and its manifest. A snapshot without a manifest is not a valid backup.
import type { ClusterConfig } from '../../config/cluster-schema';
import { FailureType } from '../../workflows/names';
import type { ActivityDeps } from '../deps';
import { failure } from '../failures';
import type { SnapshotManifest } from './manifest';
import { snapshotTimeOf } from './snapshot-keys';

export async function resolveSnapshot(
  deps: ActivityDeps,
  cluster: ClusterConfig,
  snapshot: string,
): Promise<{ key: string; manifest: SnapshotManifest }> {
  const { bucket, prefix } = cluster.storage;
  let key: string;
  if (snapshot === 'latest') {
    const latest = await deps.store.latestValidSnapshot(bucket, prefix);
    if (!latest) {
      throw failure(
        FailureType.SnapshotNotFound,
        `no valid snapshot of ${cluster.name} under s3://${bucket}/${prefix}/; run a backup first`,
      );
    }
    key = latest.key;
  } else {
    key = snapshot;
    if (!key.startsWith(`${prefix}/`) || !snapshotTimeOf(key)) {
      throw failure(
        FailureType.InvalidInput,
        `"${key}" is not a snapshot key of ${cluster.name}; keys look like ${prefix}/2026-11-28T01-22-33.123Z.snap ("vsnap snapshots list" shows them)`,
      );
    }
  }
  const manifest = await deps.store.readManifest(bucket, key);
  if (!manifest) {
    throw failure(
      FailureType.SnapshotNotFound,
      `s3://${bucket}/${key} has no manifest, so it is not a valid backup (missing, or its backup never finished)`,
    );
  }
  return { key, manifest };
}
