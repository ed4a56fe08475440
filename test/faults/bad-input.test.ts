// Fault 6: bad input. Each case must fail with an error that names the field and the fix, and
// leave nothing behind: no object, no open upload, no canary written. The cases the other
// suites already cover are listed in README "Reliability" (wrong AppRole credentials, missing
// bucket and sealed Vault in backup.test.ts; unknown target, missing or malformed key, missing
// key shares and another cluster's snapshot without force in restore.test.ts; invalid cron in
// schedule-cli.test.ts; bad config values in config.test.ts).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { backup } from '../../workflows/backup';
import { quickActivity } from '../../workflows/activity-options';
import { FailureType } from '../../workflows/names';
import { assertNothingWritten } from '../helpers/bucket';
import { watchCanary } from '../helpers/canary';
import { activityAttempts, failureOf, start } from '../helpers/runs';
import { startFlakyS3 } from '../helpers/flaky-s3';
import { baoInit, isolatedCluster, stackEnv, stackVault, startTestWorker, type TestWorker } from '../helpers/stack';

const prod = stackVault('prod');
const watchProdCanary = () => watchCanary(prod, baoInit('prod').rootToken);

describe('bad input is refused with the fix named, and nothing is left behind', () => {
  let worker: TestWorker;
  const unreachable = isolatedCluster('unreachable', { address: 'http://127.0.0.1:1' });
  const noKey = isolatedCluster('kms-missing');

  before(async () => {
    noKey.storage.kmsKeyId = '00000000-0000-0000-0000-000000000000';
    worker = await startTestWorker({ clusters: [unreachable, noKey, isolatedCluster('prod')] });
  });
  after(async () => {
    await worker?.stop();
  });

  const cases: Array<{
    name: string;
    input: Parameters<typeof backup>[0];
    type: string;
    message: RegExp;
    prefix?: string;
  }> = [
    {
      name: 'an unknown cluster',
      input: { cluster: 'nope' },
      type: FailureType.UnknownCluster,
      message: /unknown cluster "nope"; this worker is configured for: unreachable, kms-missing/,
    },
    {
      name: 'a negative retention',
      input: { cluster: 'prod', keep: -1 },
      type: FailureType.InvalidInput,
      message: /"keep"/,
    },
    {
      // moto enforces neither IAM nor key state, so this is the KMS failure it can produce;
      // AccessDenied, Disabled and pending deletion map to the same error (kms-key-check.ts).
      name: 'a KMS key the worker cannot use (here: one that does not exist)',
      input: { cluster: 'kms-missing' },
      type: FailureType.KmsKeyUnusable,
      message:
        /storage\.kmsKeyId "00000000-0000-0000-0000-000000000000" cannot encrypt.*NotFoundException.*kms:GenerateDataKey/,
      prefix: noKey.storage.prefix,
    },
  ];
  for (const c of cases) {
    test(`${c.name}: ${c.type}`, async () => {
      const canaryUnchanged = await watchProdCanary();
      const failure = await failureOf(await start<typeof backup>(worker, 'backup', c.input));
      assert.equal(failure.type, c.type);
      assert.match(failure.message, c.message);
      if (c.prefix) await assertNothingWritten(c.prefix, canaryUnchanged);
      else await canaryUnchanged();
    });
  }

  test('S3 refusing HeadBucket (403, a role without s3:ListBucket): StorageAccessDenied at plan, in one attempt, naming the permission', async () => {
    const denying = await startFlakyS3(stackEnv.AWS_ENDPOINT_URL, { every: 1_000_000, denyHeadBucket: true });
    const cluster = isolatedCluster('prod-denied');
    const denied = await startTestWorker({ clusters: [cluster], s3Endpoint: denying.address });
    try {
      const canaryUnchanged = await watchProdCanary();
      const handle = await start<typeof backup>(denied, 'backup', { cluster: cluster.name });
      const failure = await failureOf(handle);
      assert.equal(failure.type, FailureType.StorageAccessDenied);
      assert.match(failure.message, /s3:ListBucket on arn:aws:s3:::\S+ with no s3:prefix condition/);
      assert.deepEqual(await activityAttempts(handle), { planBackup: 1 }, 'a policy is not retried');
      await assertNothingWritten(cluster.storage.prefix, canaryUnchanged);
    } finally {
      await denied.stop();
      await denying.close();
    }
  });

  test('an unreachable Vault: plan retried to its last attempt, then a failure that names the address to check', async () => {
    const handle = await start<typeof backup>(worker, 'backup', { cluster: 'unreachable' });
    const err = await handle.result().then(
      () => assert.fail('should fail'),
      (e: unknown) => e as Error,
    );
    let text = '';
    for (let e: unknown = err; e instanceof Error; e = e.cause) text += `${e.message}\n`;
    assert.match(text, /ECONNREFUSED \(cannot reach Vault: check the cluster's "address"/);
    assert.match(text, /127\.0\.0\.1:1/);
    const attempts = await activityAttempts(handle);
    assert.deepEqual(attempts, { planBackup: quickActivity.retry!.maximumAttempts }, 'plan was retried, then gave up');
    await assertNothingWritten(unreachable.storage.prefix);
  });
});
