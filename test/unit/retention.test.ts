// selectExpiredSnapshots: which snapshots a retention pass deletes. Input is newest first, as
// SnapshotStore.listSnapshots returns it; "valid" means the snapshot has a manifest.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  laterRetention,
  ORPHAN_GRACE_MS,
  selectExpiredSnapshots,
  splitByObjectLock,
  type RetentionPolicy,
} from '../../activities/retention';
import type { ObjectLockRetention } from '../../activities/storage/object-lock';
import type { SnapshotObject } from '../../activities/storage/snapshot-store';
import { MANIFEST_FORMAT, type SnapshotManifest } from '../../activities/storage/manifest';
import { snapshotKeyFor } from '../../activities/storage/snapshot-keys';

const NOW = new Date('2026-11-28T12:00:00.000Z');
const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

/** A snapshot taken `ageMs` before NOW; valid (with a manifest) unless `orphan`. */
function snapshot(ageMs: number, kind: 'valid' | 'orphan' = 'valid'): SnapshotObject {
  const takenAt = new Date(NOW.getTime() - ageMs);
  const key = snapshotKeyFor('vsnap/prod', takenAt);
  return {
    key,
    size: 1024,
    lastModified: takenAt,
    takenAt,
    ...(kind === 'valid' ? { manifest: { format: MANIFEST_FORMAT, key } as SnapshotManifest } : {}),
  };
}

function expire(newestFirst: SnapshotObject[], policy: RetentionPolicy, alwaysKeep?: Set<string>): SnapshotObject[] {
  return selectExpiredSnapshots(newestFirst, policy, NOW, alwaysKeep);
}

describe('retention: the newest valid snapshot always survives', () => {
  it('keeps the newest valid snapshot with keep=1 and a tiny maxAgeDays, even when it is a month old', () => {
    const newest = snapshot(30 * DAY_MS);
    const older = snapshot(31 * DAY_MS);

    const expired = expire([newest, older], { keep: 1, maxAgeDays: 0.0001 });

    assert.deepEqual(expired, [older]);
  });

  it('keeps a lone snapshot whatever the policy says', () => {
    const only = snapshot(365 * DAY_MS);

    assert.deepEqual(expire([only], { keep: 1, maxAgeDays: 1 }), []);
  });

  it('does not count an orphan newer than the newest valid snapshot as the newest valid one', () => {
    const orphan = snapshot(2 * HOUR_MS, 'orphan');
    const newestValid = snapshot(1 * DAY_MS);
    const olderValid = snapshot(2 * DAY_MS);

    const expired = expire([orphan, newestValid, olderValid], { keep: 1 });

    assert.deepEqual(expired, [orphan, olderValid]);
  });

  it('keeps the newest valid snapshot when a fresh orphan (a run in flight) is newer still', () => {
    const inFlight = snapshot(10 * 60 * 1000, 'orphan');
    const newestValid = snapshot(1 * DAY_MS);
    const olderValid = snapshot(2 * DAY_MS);

    const expired = expire([inFlight, newestValid, olderValid], { keep: 1, maxAgeDays: 0.5 });

    assert.deepEqual(expired, [olderValid]);
  });

  it('deletes nothing when there are no snapshots', () => {
    assert.deepEqual(expire([], { keep: 1, maxAgeDays: 1 }), []);
  });
});

describe('retention: keep and maxAgeDays', () => {
  it('keeps the `keep` newest valid snapshots and deletes the rest, oldest last', () => {
    const daily = [1, 2, 3, 4, 5].map((days) => snapshot(days * DAY_MS));

    const expired = expire(daily, { keep: 3 });

    assert.deepEqual(expired, [daily[3], daily[4]]);
  });

  it('deletes nothing when there are no more than `keep` valid snapshots', () => {
    const daily = [1, 2, 3].map((days) => snapshot(days * DAY_MS));

    assert.deepEqual(expire(daily, { keep: 3 }), []);
  });

  it('deletes valid snapshots older than maxAgeDays even when `keep` would allow more', () => {
    const snaps = [1, 3, 6, 8, 10].map((days) => snapshot(days * DAY_MS));

    const expired = expire(snaps, { keep: 100, maxAgeDays: 7 });

    assert.deepEqual(expired, [snaps[3], snaps[4]]);
  });

  it('keeps a snapshot exactly maxAgeDays old (only strictly older ones go)', () => {
    const newest = snapshot(1 * DAY_MS);
    const exactly = snapshot(7 * DAY_MS);

    assert.deepEqual(expire([newest, exactly], { keep: 100, maxAgeDays: 7 }), []);
  });

  it('applies whichever of keep and maxAgeDays is stricter', () => {
    const snaps = [1, 2, 3, 10].map((days) => snapshot(days * DAY_MS));

    assert.deepEqual(expire(snaps, { keep: 2, maxAgeDays: 7 }), [snaps[2], snaps[3]]);
    assert.deepEqual(expire(snaps, { keep: 10, maxAgeDays: 2.5 }), [snaps[2], snaps[3]]);
  });

  it('returns the very objects it was given, in the order given', () => {
    const snaps = [1, 2, 3].map((days) => snapshot(days * DAY_MS));

    const expired = expire(snaps, { keep: 1 });

    assert.equal(expired[0], snaps[1]);
    assert.equal(expired[1], snaps[2]);
  });
});

describe('retention: orphans (uploaded, never recorded by a manifest)', () => {
  it('leaves an orphan younger than ORPHAN_GRACE_MS alone: its run may still be writing the manifest', () => {
    const valid = snapshot(1 * DAY_MS);
    const young = snapshot(ORPHAN_GRACE_MS - 60 * 1000, 'orphan');

    assert.deepEqual(expire([young, valid], { keep: 10 }), []);
  });

  it('leaves an orphan exactly ORPHAN_GRACE_MS old alone', () => {
    const orphan = snapshot(ORPHAN_GRACE_MS, 'orphan');

    assert.deepEqual(expire([orphan], { keep: 10 }), []);
  });

  it('deletes an orphan older than ORPHAN_GRACE_MS, however generous keep and maxAgeDays are', () => {
    const valid = snapshot(1 * DAY_MS);
    const stale = snapshot(ORPHAN_GRACE_MS + 1000, 'orphan');

    assert.deepEqual(expire([stale, valid], { keep: 1000, maxAgeDays: 3650 }), [stale]);
  });

  it('deletes a stale orphan even when it is the only snapshot (it is not a backup)', () => {
    const stale = snapshot(2 * DAY_MS, 'orphan');

    assert.deepEqual(expire([stale], { keep: 1 }), [stale]);
  });

  it('does not let orphans use up the `keep` slots of valid snapshots', () => {
    const v1 = snapshot(1 * DAY_MS);
    const o1 = snapshot(1.5 * DAY_MS, 'orphan');
    const v2 = snapshot(2 * DAY_MS);
    const o2 = snapshot(2.5 * DAY_MS, 'orphan');
    const v3 = snapshot(3 * DAY_MS);

    const expired = expire([v1, o1, v2, o2, v3], { keep: 2 });

    assert.deepEqual(expired, [o1, o2, v3]);
  });
});

describe('retention: alwaysKeep (e.g. the snapshot this very run uploaded)', () => {
  it('never deletes a valid snapshot named in alwaysKeep, even beyond keep and maxAgeDays', () => {
    const snaps = [1, 2, 30].map((days) => snapshot(days * DAY_MS));

    const expired = expire(snaps, { keep: 1, maxAgeDays: 7 }, new Set([snaps[2].key]));

    assert.deepEqual(expired, [snaps[1]]);
  });

  it('never deletes an orphan named in alwaysKeep, however old', () => {
    const valid = snapshot(1 * DAY_MS);
    const protectedOrphan = snapshot(2 * DAY_MS, 'orphan');

    assert.deepEqual(expire([valid, protectedOrphan], { keep: 1 }, new Set([protectedOrphan.key])), []);
  });

  it('still counts a kept snapshot towards `keep`', () => {
    const snaps = [1, 2, 3].map((days) => snapshot(days * DAY_MS));

    const expired = expire(snaps, { keep: 2 }, new Set([snaps[1].key]));

    assert.deepEqual(expired, [snaps[2]]);
  });
});

describe('retention on an Object Lock bucket: a locked snapshot is kept, and reported, until its lock ends', () => {
  const lock = (untilMs: number): ObjectLockRetention => ({ mode: 'COMPLIANCE', retainUntil: new Date(untilMs) });

  it('keeps an expired snapshot whose lock ends after now, and deletes those whose lock ended or that have none', () => {
    const [stillLocked, unlocked, neverLocked] = [3, 40, 50].map((days) => snapshot(days * DAY_MS));
    const locks = new Map([
      [stillLocked.key, lock(NOW.getTime() + HOUR_MS)],
      [unlocked.key, lock(NOW.getTime() - 1)],
    ]);

    const { deletable, locked } = splitByObjectLock([stillLocked, unlocked, neverLocked], (k) => locks.get(k), NOW);

    assert.deepEqual(deletable, [unlocked, neverLocked]);
    assert.deepEqual(locked, [
      { key: stillLocked.key, retainUntil: new Date(NOW.getTime() + HOUR_MS).toISOString(), mode: 'COMPLIANCE' },
    ]);
  });

  it('a lock ending exactly now has ended: S3 lets the version go', () => {
    const s = snapshot(DAY_MS);
    assert.deepEqual(splitByObjectLock([s], () => lock(NOW.getTime()), NOW).deletable, [s]);
  });

  it('counts the later of the snapshot’s and its manifest’s locks: they are deleted together', () => {
    const snapshotLock = lock(NOW.getTime() - 1);
    const manifestLock = lock(NOW.getTime() + 1000);
    assert.equal(laterRetention(snapshotLock, manifestLock), manifestLock);
    assert.equal(laterRetention(manifestLock, snapshotLock), manifestLock);
    assert.equal(laterRetention(undefined, snapshotLock), snapshotLock);
    assert.equal(laterRetention(undefined, undefined), undefined);
  });
});
