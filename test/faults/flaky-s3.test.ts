// Fault 2: a flaky S3. A proxy between the worker and S3 answers a share of requests with 503
// SlowDown, 500, a connection reset or a slow response, and cuts one download halfway. Backup
// and restore must both succeed with the SHA-256 intact, and the retries must show in history.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { backup } from '../../workflows/backup';
import type { restore } from '../../workflows/restore';
import { fillTo } from '../../bench/fill';
import { assertValidSnapshot } from '../helpers/bucket';
import { startFlakyS3, type FlakyS3 } from '../helpers/flaky-s3';
import { activityAttempts, start } from '../helpers/runs';
import { baoInit, isolatedCluster, stackConfig, stackEnv, startTestWorker, type TestWorker } from '../helpers/stack';

const prod = { address: stackEnv.VSNAP_PROD_ADDR, token: baoInit('prod').rootToken };

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
      cutFirstDownloadOver: 1024 * 1024,
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

  let backedUp: { key: string; sha256: string } | undefined;

  test('backup succeeds, the stored object is intact, and the retries are recorded', async () => {
    const handle = await start<typeof backup>(worker, 'backup', { cluster: cluster.name });
    const result = await handle.result();
    backedUp = result;
    assert.ok(result.size > 20 * 2 ** 20, `expected a multi-part snapshot, got ${result.size} bytes`);
    for (const [fault, count] of Object.entries(flaky.faults)) {
      if (fault !== 'cutDownload')
        assert.ok(
          count > 0,
          `the proxy injected no ${fault}: ${flaky.requests} requests, ${JSON.stringify(flaky.faults)}`,
        );
    }
    // Retried by the SDK (counted in the activity's result) or by Temporal (a later attempt): either is in history.
    const attempts = await activityAttempts(handle);
    const retries = result.s3Retries + Object.values(attempts).reduce((sum, a) => sum + (a - 1), 0);
    assert.ok(
      retries > 0,
      `no retry recorded in history (s3Retries ${result.s3Retries}, attempts ${JSON.stringify(attempts)})`,
    );
    await assertValidSnapshot(result.key, result.sha256);
  });

  test('restore of that backup into drill succeeds through a cut download', async () => {
    assert.ok(backedUp, 'needs the backup above');
    const handle = await start<typeof restore>(worker, 'restore', {
      target: 'drill',
      source: cluster.name,
      snapshot: backedUp.key,
    });
    const report = await handle.result();
    assert.equal(report.passed, true, JSON.stringify(report.checks));
    assert.equal(flaky.faults.cutDownload, 1, 'the first download was cut halfway');
    const attempts = await activityAttempts(handle);
    const retried = Object.entries(attempts).filter(([, a]) => a > 1);
    assert.ok(retried.length > 0, `the cut download must show as a retried activity: ${JSON.stringify(attempts)}`);
  });
});
