// Fault 5: corruption the restore suite does not already inject (bit flips and truncation of
// the object, and another cluster's snapshot without force, are in restore.test.ts): a sidecar
// manifest that no longer matches its object, a manifest for another key, and a valid snapshot
// swapped in under a recorded key. Each must be refused before the target changes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ApplicationFailure } from '@temporalio/common';
import { manifestKeyFor } from '../../activities/storage/snapshot-keys';
import type { SnapshotManifest } from '../../activities/storage/manifest';
import type { backup } from '../../workflows/backup';
import { FailureType } from '../../workflows/names';
import type { restore } from '../../workflows/restore';
import { objectBytes, putBytes } from '../helpers/bucket';
import { markDrill } from '../helpers/drill';
import { failureOf, start } from '../helpers/runs';
import { isolatedCluster, stackConfig, startTestWorker, type TestWorker } from '../helpers/stack';

describe('corrupted records are refused before the target changes', () => {
  let worker: TestWorker;
  const source = isolatedCluster('prod-corrupt');

  before(async () => {
    const drill = stackConfig().clusters.find((c) => c.name === 'drill')!;
    worker = await startTestWorker({ clusters: [source, { ...drill, drillSource: source.name }] });
  });
  after(async () => {
    await worker?.stop();
  });

  const backupKey = async () =>
    (await (await start<typeof backup>(worker, 'backup', { cluster: source.name })).result()).key;
  const manifestOf = async (key: string) =>
    JSON.parse((await objectBytes(manifestKeyFor(key))).toString('utf8')) as SnapshotManifest;

  async function refused(key: string): Promise<ApplicationFailure> {
    const marker = await markDrill();
    const failure = await failureOf(
      await start<typeof restore>(worker, 'restore', { target: 'drill', source: source.name, snapshot: key }),
    );
    await marker.assertUnchanged();
    assert.equal(failure.nonRetryable, true);
    return failure;
  }

  test('a manifest whose SHA-256 does not match the object: ChecksumMismatch', async () => {
    const key = await backupKey();
    const manifest = await manifestOf(key);
    await putBytes(manifestKeyFor(key), JSON.stringify({ ...manifest, sha256: '0'.repeat(64) }));
    const failure = await refused(key);
    assert.equal(failure.type, FailureType.ChecksumMismatch);
    assert.match(failure.message, /altered or damaged after the backup/);
  });

  test('a manifest that records another key: the snapshot has no manifest', async () => {
    const key = await backupKey();
    const manifest = await manifestOf(key);
    await putBytes(manifestKeyFor(key), JSON.stringify({ ...manifest, key: `${source.storage.prefix}/other.snap` }));
    const failure = await refused(key);
    assert.equal(failure.type, FailureType.SnapshotNotFound);
    assert.match(failure.message, /no manifest/);
  });

  test('a valid snapshot swapped in under another recorded key: ChecksumMismatch', async () => {
    const first = await backupKey();
    const second = await backupKey();
    await putBytes(second, await objectBytes(first));
    const failure = await refused(second);
    assert.equal(failure.type, FailureType.ChecksumMismatch);
  });
});
