// Object key layout: snapshot keys embed their UTC start time so that a plain sort of the
// names is a sort by time (operators run `aws s3 ls ... | sort | tail -n 1` to find the newest).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { manifestKeyFor, snapshotKeyFor, snapshotTimeOf } from '../../activities/storage/snapshot-keys';

const PREFIX = 'vsnap/prod';

describe('snapshot keys: format and order', () => {
  it('puts the snapshot under PREFIX/ with a colon-free UTC timestamp and a .snap suffix', () => {
    const key = snapshotKeyFor(PREFIX, new Date('2026-11-28T01:22:33.123Z'));

    assert.match(key, /^vsnap\/prod\/2026-11-28T01-22-33(\.\d{3})?Z\.snap$/);
    assert.ok(!key.includes(':'), 'no colons: they need escaping in shells and some S3 tools');
  });

  it('sorts lexicographically in time order across second, hour, day, month and year boundaries', () => {
    const times = [
      '2025-12-31T23:59:59.999Z',
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:00:00.001Z',
      '2026-01-01T00:00:01.000Z',
      '2026-01-01T09:59:59.000Z',
      '2026-01-01T10:00:00.000Z',
      '2026-01-09T23:00:00.000Z',
      '2026-01-10T00:00:00.000Z',
      '2026-01-31T23:59:59.000Z',
      '2026-02-01T00:00:00.000Z',
      '2026-09-30T12:00:00.000Z',
      '2026-10-01T12:00:00.000Z',
    ].map((t) => new Date(t));
    const inTimeOrder = times.map((t) => snapshotKeyFor(PREFIX, t));
    const shuffled = [...inTimeOrder].reverse();
    shuffled.push(shuffled.splice(3, 1)[0], shuffled.splice(7, 1)[0]);

    assert.deepEqual([...shuffled].sort(), inTimeOrder);
    assert.equal([...shuffled].sort().at(-1), snapshotKeyFor(PREFIX, new Date('2026-10-01T12:00:00.000Z')));
  });

  it('gives two backups started at different times different keys', () => {
    const a = snapshotKeyFor(PREFIX, new Date('2026-11-28T01:22:33.000Z'));
    const b = snapshotKeyFor(PREFIX, new Date('2026-11-28T01:22:34.000Z'));

    assert.notEqual(a, b);
  });
});

describe('snapshot keys: reading the time back', () => {
  it('round-trips the start time through snapshotKeyFor and snapshotTimeOf', () => {
    for (const iso of ['2026-11-28T01:22:33.000Z', '2028-02-29T23:59:59.000Z', '2030-01-01T00:00:00.000Z']) {
      const time = new Date(iso);

      assert.equal(snapshotTimeOf(snapshotKeyFor(PREFIX, time))?.toISOString(), iso);
    }
  });

  it('keeps at least second precision when the start time has milliseconds', () => {
    const time = new Date('2026-11-28T01:22:33.456Z');

    const readBack = snapshotTimeOf(snapshotKeyFor(PREFIX, time));

    assert.ok(readBack, 'the key is recognised');
    assert.equal(Math.floor(readBack.getTime() / 1000), Math.floor(time.getTime() / 1000));
  });

  it('reads the time whatever the prefix depth', () => {
    const time = new Date('2026-11-28T01:22:33.000Z');

    assert.equal(snapshotTimeOf(snapshotKeyFor('team-a/backups/vsnap/prod', time))?.toISOString(), time.toISOString());
  });

  it('rejects keys that are not vsnap snapshots', () => {
    const real = snapshotKeyFor(PREFIX, new Date('2026-11-28T01:22:33.000Z'));
    const notSnapshots = [
      manifestKeyFor(real),
      `${real}.tmp`,
      `${real}/`,
      real.replace('/2026', '/x2026'),
      real.replace('.snap', '.tar.gz'),
      'vsnap/prod/latest.snap',
      'vsnap/prod/2026-11-28T01:22:33Z.snap',
      'vsnap/prod/2026-11-28.snap',
      'vsnap/prod/',
      '',
    ];
    for (const key of notSnapshots) {
      assert.equal(snapshotTimeOf(key), undefined, `${JSON.stringify(key)} is not a snapshot`);
    }
  });

  it('rejects a key whose timestamp is not a real date (month 13, February 30)', () => {
    for (const key of ['vsnap/prod/2026-13-45T25-61-61.000Z.snap', 'vsnap/prod/2026-02-30T00-00-00.000Z.snap']) {
      // String(): an Invalid Date inside an assertion error crashes the TAP reporter.
      const time = snapshotTimeOf(key);
      assert.ok(time === undefined, `${key} should not be a snapshot, got ${String(time)}`);
    }
  });
});

describe('snapshot keys: manifests', () => {
  it('puts the manifest of PREFIX/<time>.snap at PREFIX/manifests/<time>.json', () => {
    const key = snapshotKeyFor(PREFIX, new Date('2026-11-28T01:22:33.000Z'));
    const stamp = key.slice(PREFIX.length + 1, -'.snap'.length);

    assert.equal(manifestKeyFor(key), `${PREFIX}/manifests/${stamp}.json`);
  });

  it('keeps manifests one level below the snapshots, whatever the prefix depth', () => {
    assert.equal(
      manifestKeyFor('team-a/backups/2026-11-28T01-22-33.000Z.snap'),
      'team-a/backups/manifests/2026-11-28T01-22-33.000Z.json',
    );
  });
});
