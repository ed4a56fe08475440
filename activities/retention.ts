// Which snapshots retention deletes. Pure, so the rules are unit-tested on their own:
// - the newest valid snapshot is never deleted, whatever `keep` and `maxAgeDays` say;
// - valid snapshots (those with a manifest) beyond the `keep` newest, or older than
//   `maxAgeDays`, are deleted;
// - an object without a manifest is the leftover of a run that died between upload and
//   record; it is deleted once it is older than ORPHAN_GRACE_MS.
// On an Object Lock bucket, an expired snapshot still locked is kept until its lock ends.
import type { ObjectLockMode, ObjectLockRetention } from './storage/object-lock';
import type { SnapshotObject } from './storage/snapshot-store';
import type { ClusterConfig } from '../config/cluster-schema';

export const ORPHAN_GRACE_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface RetentionPolicy {
  keep: number;
  maxAgeDays?: number;
}

/**
 * The snapshots retention deletes under one prefix (the cluster's or a copy's): none when the
 * bucket's lifecycle rules do it (`deleteBy: "lifecycle"`: the worker may hold no delete
 * permission at all), otherwise those beyond the cluster's policy, or the run's overrides.
 */
export function snapshotsToDelete(
  newestFirst: SnapshotObject[],
  retention: ClusterConfig['retention'],
  overrides: { keep?: number | undefined; maxAgeDays?: number | undefined },
  now: Date,
  protect: Set<string>,
): SnapshotObject[] {
  if (retention.deleteBy === 'lifecycle') return [];
  const maxAgeDays = overrides.maxAgeDays ?? retention.maxAgeDays;
  const policy: RetentionPolicy = {
    keep: overrides.keep ?? retention.keep,
    ...(maxAgeDays !== undefined ? { maxAgeDays } : {}),
  };
  return selectExpiredSnapshots(newestFirst, policy, now, protect);
}

export function selectExpiredSnapshots(
  newestFirst: SnapshotObject[],
  policy: RetentionPolicy,
  now: Date,
  alwaysKeep: ReadonlySet<string> = new Set(),
): SnapshotObject[] {
  const expired: SnapshotObject[] = [];
  let validSeen = 0;
  for (const snapshot of newestFirst) {
    const age = now.getTime() - snapshot.takenAt.getTime();
    if (!snapshot.manifest) {
      if (age > ORPHAN_GRACE_MS && !alwaysKeep.has(snapshot.key)) expired.push(snapshot);
      continue;
    }
    validSeen++;
    if (validSeen === 1 || alwaysKeep.has(snapshot.key)) continue;
    const tooMany = validSeen > policy.keep;
    const tooOld = policy.maxAgeDays !== undefined && age > policy.maxAgeDays * DAY_MS;
    if (tooMany || tooOld) expired.push(snapshot);
  }
  return expired;
}

/** An expired snapshot retention keeps because S3 Object Lock still protects it. */
export interface LockedSnapshot {
  key: string;
  /** ISO 8601: the end of the later lock of the snapshot and its manifest. */
  retainUntil: string;
  mode: ObjectLockMode;
}

/** The lock that ends last: a snapshot and its manifest are deleted together, so the later one counts. */
export function laterRetention(
  a: ObjectLockRetention | undefined,
  b: ObjectLockRetention | undefined,
): ObjectLockRetention | undefined {
  if (!a || !b) return a ?? b;
  return a.retainUntil >= b.retainUntil ? a : b;
}

/**
 * Splits expired snapshots on an Object Lock bucket into those whose lock has ended (or that
 * have none), which retention deletes, and those still locked, which it keeps and reports:
 * S3 would refuse to delete them anyway.
 */
export function splitByObjectLock(
  expired: SnapshotObject[],
  retentionOf: (key: string) => ObjectLockRetention | undefined,
  now: Date,
): { deletable: SnapshotObject[]; locked: LockedSnapshot[] } {
  const deletable: SnapshotObject[] = [];
  const locked: LockedSnapshot[] = [];
  for (const snapshot of expired) {
    const retention = retentionOf(snapshot.key);
    if (retention && retention.retainUntil > now) {
      locked.push({ key: snapshot.key, retainUntil: retention.retainUntil.toISOString(), mode: retention.mode });
    } else {
      deletable.push(snapshot);
    }
  }
  return { deletable, locked };
}
