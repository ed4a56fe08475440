// Which stored snapshot a run means: "latest" (the newest with a manifest) or an exact key of
// the cluster's, and its manifest. A snapshot without a manifest is not a valid backup.
import type { ClusterConfig } from '../../config/cluster-schema';
import { FailureType } from '../../workflows/names';
import { locationLabel } from '../../workflows/report-text';
import { ANY_LOCATION, PRIMARY_LOCATION } from '../../workflows/restore-input';
import type { PlanLocation, SkippedLocation } from '../../workflows/restore-types';
import type { ActivityDeps } from '../deps';
import { failure } from '../failures';
import type { SnapshotManifest } from './manifest';
import { locationProblem, locationsFrom, planLocation, type SnapshotLocation } from './snapshot-locations';
import { keyAtPrefix, snapshotTimeOf } from './snapshot-keys';

/** The snapshot in the cluster's primary bucket. */
export async function resolveSnapshot(
  deps: ActivityDeps,
  cluster: ClusterConfig,
  snapshot: string,
): Promise<{ key: string; manifest: SnapshotManifest }> {
  return resolveSnapshotAt(cluster, { name: PRIMARY_LOCATION, ...cluster.storage, store: deps.store }, snapshot);
}

/**
 * The snapshot as one location's own listing and manifests say. The key returned is the one in
 * that location; an exact key may be given under the cluster's own prefix or the location's
 * (the file name is the same in both).
 */
export async function resolveSnapshotAt(
  cluster: Pick<ClusterConfig, 'name' | 'storage'>,
  location: SnapshotLocation,
  snapshot: string,
): Promise<{ key: string; manifest: SnapshotManifest }> {
  const { bucket, prefix, store } = location;
  const where = location.name === PRIMARY_LOCATION ? '' : ` (copy "${location.name}")`;
  let key: string;
  if (snapshot === 'latest') {
    const latest = await store.latestValidSnapshot(bucket, prefix);
    if (!latest) {
      throw failure(
        FailureType.SnapshotNotFound,
        `no valid snapshot of ${cluster.name} under s3://${bucket}/${prefix}/${where}; run a backup first`,
      );
    }
    key = latest.key;
  } else {
    const prefixes = [...new Set([cluster.storage.prefix, prefix])];
    const under = prefixes.find((p) => snapshot.startsWith(`${p}/`));
    if (!under || !snapshotTimeOf(snapshot)) {
      throw failure(
        FailureType.InvalidInput,
        `"${snapshot}" is not a snapshot key of ${cluster.name}; keys look like ${cluster.storage.prefix}/2026-11-28T01-22-33.123Z.snap ("vsnap snapshots list" shows them)`,
      );
    }
    key = `${prefix}/${snapshot.slice(under.length + 1)}`;
  }
  const manifest = await store.readManifest(bucket, key);
  if (!manifest) {
    throw failure(
      FailureType.SnapshotNotFound,
      `s3://${bucket}/${key}${where} has no manifest, so it is not a valid backup (missing, or its backup never finished)`,
    );
  }
  return { key, manifest };
}

/** The plan's fields for a snapshot and where to read it. */
export interface ResolvedSnapshot {
  /** The key under the cluster's own prefix: how reports and records name the snapshot. */
  key: string;
  manifest: SnapshotManifest;
  from?: string;
  location?: PlanLocation;
  candidates?: PlanLocation[];
  skipped?: SkippedLocation[];
}

/**
 * The snapshot a run means, decided from the manifests of the location `from` names: the
 * primary's (unchanged), a copy's, or with "any" the primary's, passing to the next location's
 * listing only when one is unreachable. With "any" the plan lists every location still to try:
 * the verifying fetch picks the first that holds the object intact.
 */
export async function resolveSnapshotFrom(
  deps: ActivityDeps,
  cluster: ClusterConfig,
  snapshot: string,
  from: string = PRIMARY_LOCATION,
): Promise<ResolvedSnapshot> {
  if (from === PRIMARY_LOCATION) return resolveSnapshot(deps, cluster, snapshot);
  const locations = locationsFrom(deps, cluster, from);
  const skipped: SkippedLocation[] = [];
  for (const [i, location] of locations.entries()) {
    let found: { key: string; manifest: SnapshotManifest };
    try {
      found = await resolveSnapshotAt(cluster, location, snapshot);
    } catch (err) {
      const problem = from === ANY_LOCATION ? locationProblem(err) : undefined;
      if (!problem) throw err;
      skipped.push({ name: location.name, problem });
      continue;
    }
    const key = keyAtPrefix(cluster.storage.prefix, found.key);
    const candidates = locations.slice(i).map((l) => planLocation(cluster, l, key));
    return {
      key,
      manifest: found.manifest,
      from,
      ...(from === ANY_LOCATION ? { candidates, skipped } : { location: candidates[0] }),
    };
  }
  throw snapshotUnavailable(cluster.name, snapshot, skipped);
}

/** Every location failed: non-retryable, naming each one's problem. */
export function snapshotUnavailable(cluster: string, snapshot: string, skipped: SkippedLocation[]) {
  return failure(
    FailureType.SnapshotUnavailable,
    `no location of ${cluster}'s snapshot ${snapshot} could be read intact: ` +
      skipped.map((s) => `${locationLabel(s.name)}: ${s.problem}`).join('; '),
  );
}
