// Which snapshots retention deletes. Pure, so the rules are unit-tested on their own:
// - the newest valid snapshot is never deleted, whatever `keep` and `maxAgeDays` say;
// - valid snapshots (those with a manifest) beyond the `keep` newest, or older than
//   `maxAgeDays`, are deleted;
// - an object without a manifest is the leftover of a run that died between upload and
//   record; it is deleted once it is older than ORPHAN_GRACE_MS.
import type { SnapshotObject } from './storage/snapshot-store';

export const ORPHAN_GRACE_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface RetentionPolicy {
  keep: number;
  maxAgeDays?: number;
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
