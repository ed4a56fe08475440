// Fault 2: a flaky S3. A proxy between the worker and S3 answers a share of requests with 503
// SlowDown, 500, a connection reset or a slow response, and cuts two downloads halfway: a dry
// run's verifying fetch and then a restore's own stream into Vault. Backup and restore
// must both succeed with the SHA-256 intact; the SDK's retries show in the backup's result and
// the cut downloads as retried activities in history.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { backup } from '../../workflows/backup';
import type { restore } from '../../workflows/restore';
import { fillTo } from '../../bench/fill';
import { assertValidSnapshot } from '../helpers/bucket';
import { startFlakyS3, type FlakyS3 } from '../helpers/flaky-s3';
import { activityAttempts, activityTypes, sharedFixture, start } from '../helpers/runs';
import {
  baoInit,
  isolatedCluster,
  stackConfig,
  stackEnv,
  stackVault,
  startTestWorker,
  type TestWorker,
} from '../helpers/stack';

const prod = { vault: stackVault('prod'), token: baoInit('prod').rootToken };

describe('a flaky S3 between the worker and the bucket', () => {
  let flaky: FlakyS3;
  let worker: TestWorker;
  const cluster = isolatedCluster('prod');

  before(async () => {
    // 24 MiB of data: a snapshot of 5 parts of 5 MiB, so the upload makes enough requests to meet every fault.
    await fillTo(prod, 24 * 2 ** 20);
    flaky = await startFlakyS3(stackEnv.AWS_ENDPOINT_URL, {
      every: 3,
      slowMs: 1500,
      // Download 1 is the dry run's fetch, 2 its retry's, 3 the restore step's, 4 its retry's.
      cutDownloads: [1, 3],
      cutDownloadsOver: 1024 * 1024,
    });
    const drill = stackConfig().clusters.find((c) => c.name === 'drill')!;
    worker = await startTestWorker({
      clusters: [cluster, { ...drill, drillSource: cluster.name }],
      partSizeBytes: 5 * 2 ** 20,
      s3Endpoint: flaky.address,
    });
  });
  after(async () => {
    await worker?.stop();
    await flaky?.close();
    await fillTo(prod, 0);
  });

  const backupThroughFlakyS3 = sharedFixture(async () => {
    const handle = await start<typeof backup>(worker, 'backup', { cluster: cluster.name });
    return { handle, result: await handle.result() };
  });

  test('backup succeeds, the stored object is intact, and the retries are recorded', async () => {
    const { result } = await backupThroughFlakyS3();
    assert.ok(result.size > 20 * 2 ** 20, `expected a multi-part snapshot, got ${result.size} bytes`);
    for (const [fault, count] of Object.entries(flaky.faults)) {
      if (fault !== 'cutDownload')
        assert.ok(
          count > 0,
          `the proxy injected no ${fault}: ${flaky.requests} requests, ${JSON.stringify(flaky.faults)}`,
        );
    }
    // Every fault above but the slow answer is an error the SDK retries in place.
    assert.ok(result.s3Retries > 0, `the SDK's S3 retries are counted: ${result.s3Retries}`);
    await assertValidSnapshot(result.key, result.sha256);
  });

  test('a dry run and then a restore of that backup into drill succeed through a cut fetch and a cut restore stream', async () => {
    const backedUp = (await backupThroughFlakyS3()).result;
    const input = { target: 'drill', source: cluster.name, snapshot: backedUp.key };
    const dryRun = await start<typeof restore>(worker, 'restore', { ...input, dryRun: true });
    assert.equal((await dryRun.result()).dryRun, true);
    const fetches = await activityAttempts(dryRun);
    assert.equal(fetches.fetchSnapshot, 2, `the cut fetch was retried once: ${JSON.stringify(fetches)}`);

    const handle = await start<typeof restore>(worker, 'restore', input);
    const report = await handle.result();
    assert.equal(report.passed, true, JSON.stringify(report.checks));
    assert.equal(flaky.faults.cutDownload, 2, 'two downloads were cut halfway');
    const attempts = await activityAttempts(handle);
    assert.equal(attempts.restoreSnapshot, 2, `the cut restore was retried once: ${JSON.stringify(attempts)}`);
    // Its first try had unwrapped the root token it was handed, so the retry found it gone
    // (RootTokenLost) and the run went back to regenerate one: root was regenerated three
    // times (before, again for the retried restore, after), and the restore step ran twice.
    const types = await activityTypes(handle);
    assert.equal(types.filter((t) => t === 'regenerateRoot').length, 3, types.join(', '));
    assert.equal(types.filter((t) => t === 'restoreSnapshot').length, 2, types.join(', '));
  });
});
