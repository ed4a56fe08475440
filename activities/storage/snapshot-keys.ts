// Object key layout. Snapshot keys embed the UTC start time, so they sort chronologically and
// the cron-job procedure's `aws s3 ls s3://BUCKET/PREFIX/ | sort | tail -n 1` names the newest. Manifests
// live one level down (`PREFIX/manifests/`), where `aws s3 ls` shows them as a single PRE
// line that sorts first.

// Milliseconds too: two manual backups started in one second must not share a key.
const SNAPSHOT_NAME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})\.(\d{3})Z\.snap$/;

/** `PREFIX/2026-11-28T01-22-33.123Z.snap` for a backup that started at `startedAt`. */
export function snapshotKeyFor(prefix: string, startedAt: Date): string {
  return `${prefix}/${startedAt.toISOString().replace(/:/g, '-')}.snap`;
}

/** A key's file name: the snapshot's identity, the same under the cluster's prefix and a copy's. */
export function snapshotFileName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

/** `key`'s file name under `prefix`: where a snapshot of one location is at another. */
export function keyAtPrefix(prefix: string, key: string): string {
  return `${prefix}/${snapshotFileName(key)}`;
}

export function manifestKeyFor(snapshotKey: string): string {
  const slash = snapshotKey.lastIndexOf('/');
  const name = snapshotFileName(snapshotKey).replace(/\.snap$/, '.json');
  return `${snapshotKey.slice(0, slash)}/manifests/${name}`;
}

/** Where a restore drill records that it verified a snapshot. */
export function verificationKeyFor(snapshotKey: string): string {
  return manifestKeyFor(snapshotKey).replace(/\.json$/, '.verified.json');
}

/** The time a snapshot key encodes, or undefined for keys that are not vsnap snapshots. */
export function snapshotTimeOf(key: string): Date | undefined {
  const m = SNAPSHOT_NAME.exec(snapshotFileName(key));
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, ms] = m;
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`;
  const time = new Date(iso);
  // Date rolls 2026-02-30 over to March; a key that does not round-trip is not ours.
  return !Number.isNaN(time.getTime()) && time.toISOString() === iso ? time : undefined;
}
