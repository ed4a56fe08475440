// Where a restore reads a cluster's snapshot from: the primary bucket, or one of its further
// copies (storage.copies), each holding the same file names. `from` picks one, or "any": the
// primary, then each copy in config order.
import { S3ServiceException } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterConfig } from '../../config/cluster-schema';
import { FailureType } from '../../workflows/names';
import type { PlanLocation, RestorePlan } from '../../workflows/restore-types';
import { ANY_LOCATION, PRIMARY_LOCATION } from '../../workflows/restore-input';
import { ArchiveInvalidError } from '../archive/snapshot-archive';
import { ChecksumMismatchError } from '../archive/verified-snapshot-stream';
import type { ActivityDeps } from '../deps';
import { failure } from '../failures';
import { copyKeyFor, copyLocation } from './copy-location';
import { BucketNotFoundError, type SnapshotStore } from './snapshot-store';

/** A place a cluster's snapshots are stored, with the store that reaches it. */
export interface SnapshotLocation {
  name: string;
  bucket: string;
  prefix: string;
  store: SnapshotStore;
}

/** Why `from` names no location of the cluster, or undefined when it does. */
export function fromProblem(cluster: Pick<ClusterConfig, 'name' | 'storage'>, from: string): string | undefined {
  const copies = (cluster.storage.copies ?? []).map((c) => c.name);
  if (from === PRIMARY_LOCATION || from === ANY_LOCATION || copies.includes(from)) return undefined;
  return (
    `"from" "${from}" is not a copy of ${cluster.name}; ` +
    (copies.length ? `copies: ${copies.join(', ')}` : `${cluster.name} has no copies (storage.copies)`) +
    `; or "${PRIMARY_LOCATION}", "${ANY_LOCATION}"`
  );
}

/** The locations `from` names, in the order a restore tries them. */
export function locationsFrom(deps: ActivityDeps, cluster: ClusterConfig, from: string): SnapshotLocation[] {
  const problem = fromProblem(cluster, from);
  if (problem) throw failure(FailureType.InvalidInput, problem);
  const all: SnapshotLocation[] = [
    { name: PRIMARY_LOCATION, ...cluster.storage, store: deps.store },
    ...(cluster.storage.copies ?? []).map((copy) => ({
      name: copy.name,
      ...copyLocation(cluster, copy),
      store: deps.copyStore(copy),
    })),
  ];
  return from === ANY_LOCATION ? all : all.filter((l) => l.name === from);
}

/** Where the snapshot `key` (under the cluster's own prefix) is in `location`. */
export function planLocation(cluster: ClusterConfig, location: SnapshotLocation, key: string): PlanLocation {
  const copy = cluster.storage.copies?.find((c) => c.name === location.name);
  return { name: location.name, bucket: location.bucket, key: copy ? copyKeyFor(cluster, copy, key) : key };
}

/** Where a planned restore reads its object; plans made before copies existed read the primary. */
export function readLocation(plan: RestorePlan): PlanLocation {
  return plan.location ?? { name: PRIMARY_LOCATION, bucket: plan.bucket, key: plan.key };
}

/** The store that reaches a planned location. */
export function storeAt(deps: ActivityDeps, cluster: ClusterConfig, location: PlanLocation): SnapshotStore {
  if (location.name === PRIMARY_LOCATION) return deps.store;
  const copy = cluster.storage.copies?.find((c) => c.name === location.name);
  if (!copy) {
    throw failure(FailureType.InvalidInput, `${cluster.name} has no copy "${location.name}" any more (storage.copies)`);
  }
  return deps.copyStore(copy);
}

/**
 * What makes a location unusable, as a report names it: "damaged" (the object is not the one
 * its manifest records), "missing", "refused" (access denied) or "unreachable" (network errors
 * and 5xx, after the SDK's own retries). Undefined for a failure that is an answer about the
 * snapshot itself (a bad key, no manifest): no other location changes it.
 */
export function locationProblem(err: unknown, expected?: { sha256: string; size: number }): string | undefined {
  if (err instanceof ApplicationFailure) return undefined;
  if (err instanceof ChecksumMismatchError) {
    if (!err.actual || !expected) return `damaged — ${err.message}`;
    const size = err.actual.size === expected.size ? '' : `, ${err.actual.size} bytes ≠ manifest's ${expected.size}`;
    return `damaged — SHA-256 ${short(err.actual.sha256)} ≠ manifest's ${short(expected.sha256)}${size}`;
  }
  if (err instanceof ArchiveInvalidError) return `damaged — ${err.message}`;
  if (err instanceof BucketNotFoundError) return `missing — bucket ${err.bucket} does not exist`;
  if (err instanceof S3ServiceException) {
    const status = err.$metadata.httpStatusCode;
    if (err.name === 'NoSuchKey' || status === 404) return `missing — ${err.name} (HTTP 404)`;
    if (status === 403) return `refused — ${err.name} (HTTP 403)`;
    return `unreachable — ${err.name}${status ? ` (HTTP ${status})` : ''}`;
  }
  const e = err as { name?: string; code?: string; message?: string };
  return `unreachable — ${e.code ?? e.name ?? 'error'}: ${(e.message ?? String(err)).slice(0, 200)}`;
}

function short(sha256: string): string {
  return `${sha256.slice(0, 12)}…`;
}
