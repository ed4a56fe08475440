// The shipped IAM policies against every AWS call the test suite made. moto enforces no IAM, so
// `npm test` runs the whole suite with VSNAP_AWS_CALL_LOG=.stack/aws-calls.jsonl (the worker in
// the test process, worker child processes and the vsnap CLI all inherit it) and this file last:
// here a call the policy would refuse on AWS fails, named by actor, operation and resource.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AwsCallRecord } from '../../worker/aws-call-log';
import {
  denials,
  describeVerdict,
  judgeCalls,
  loadPolicy,
  POLICY_FILES,
  type JudgeEnvironment,
  type Verdict,
} from '../helpers/iam-judge';
import { LOCK_BUCKET_PREFIX } from '../helpers/seaweedfs';
import { repoRoot, stackEnv } from '../helpers/stack';

/** The log to judge: the suite's, or VSNAP_IAM_CALL_LOG (a log of some test files only). */
const CALL_LOG = process.env.VSNAP_IAM_CALL_LOG ?? join(repoRoot, '.stack', 'aws-calls.jsonl');

/** moto's default account: the stack does not set MOTO_ACCOUNT_ID. */
const MOTO_ACCOUNT = '123456789012';

const env: JudgeEnvironment = {
  account: MOTO_ACCOUNT,
  region: stackEnv.AWS_REGION,
  bucket: stackEnv.VSNAP_BUCKET,
  kmsKeyId: stackEnv.VSNAP_KMS_KEY_ID,
  // vsnap/: the stack's clusters; test/: isolatedCluster() in test/helpers/stack.ts; bench/: the bench's cluster.
  prefixRoots: ['vsnap/', 'test/', 'bench/'],
  // test/integration/copies.test.ts makes a copy bucket per test, and its KMS key, in eu-central-1.
  copyBucket: 'vsnap-test-copy-*',
  copyKmsKeyId: '*',
};

/** The account moto puts a copy role's assumed credentials in: the role ARN's (copies.test.ts). */
const COPY_ROLE_ACCOUNT = '444455556666';

/** Operations a backup and a restore cannot run without: a log missing one was not recorded. */
const REQUIRED_WORKER_OPERATIONS = [
  'HeadBucket',
  'CreateMultipartUpload',
  'UploadPart',
  'CompleteMultipartUpload',
  'GetObject',
  'GetSecretValue',
];

const WRITES = [
  'PutObject',
  'CreateMultipartUpload',
  'UploadPart',
  'CompleteMultipartUpload',
  'AbortMultipartUpload',
  'DeleteObjects',
];

function readCallLog(): AwsCallRecord[] {
  assert.ok(existsSync(CALL_LOG), `${CALL_LOG} is missing: run the suite with VSNAP_AWS_CALL_LOG=${CALL_LOG}`);
  return readFileSync(CALL_LOG, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AwsCallRecord);
}

/** One line per distinct denial (a denied UploadPart would otherwise repeat per part). */
function denialReport(verdicts: Verdict[]): string[] {
  return [...new Set(denials(verdicts).map(describeVerdict))];
}

/** Calls the tests aim at a bucket that does not exist, to see the worker fail, are not the deployment's. */
const onStackBucket = (c: AwsCallRecord) =>
  c.request.Bucket === undefined ||
  c.request.Bucket === env.bucket ||
  /^vsnap-test-copy-/.test(String(c.request.Bucket));

/** The Object Lock tests' buckets (test/integration/object-lock.test.ts): each is judged as the deployment's bucket. */
const onLockBucket = (c: AwsCallRecord) => String(c.request.Bucket ?? '').startsWith(LOCK_BUCKET_PREFIX);
/** Those of them whose clusters set retention.deleteBy "lifecycle". */
const onLifecycleBucket = (c: AwsCallRecord) =>
  String(c.request.Bucket ?? '').startsWith(`${LOCK_BUCKET_PREFIX}lifecycle-`);

/** Judges calls bucket by bucket, each against the policy rendered for its bucket. */
async function judgePerBucket(calls: AwsCallRecord[], policyFile: string): Promise<Verdict[]> {
  const buckets = [...new Set(calls.map((c) => String(c.request.Bucket)))];
  const verdicts = await Promise.all(
    buckets.map((bucket) =>
      judgeCalls(
        calls.filter((c) => c.request.Bucket === bucket),
        loadPolicy(policyFile),
        { ...env, bucket },
      ),
    ),
  );
  return verdicts.flat();
}

describe('IAM: the calls the test suite made, judged against the shipped policies', () => {
  let worker: AwsCallRecord[];
  let operator: AwsCallRecord[];
  let others: AwsCallRecord[];
  /** A storage copy's calls made with its role's credentials (roleArn). */
  let copyRole: AwsCallRecord[];

  before(() => {
    const calls = readCallLog();
    // A copy without a role writes with the worker's own credentials, so under the worker policy.
    worker = calls.filter((c) => (c.actor === 'worker' || c.actor.startsWith('worker copy ')) && !c.role);
    copyRole = calls.filter((c) => c.actor.startsWith('worker copy ') && c.role);
    operator = calls.filter((c) => c.actor.startsWith('vsnap snapshots '));
    others = calls.filter((c) => !worker.includes(c) && !operator.includes(c) && !copyRole.includes(c));
  });

  it('the log holds the calls of backups, restores and `vsnap snapshots`', () => {
    assert.ok(worker.length > 0, `${CALL_LOG} has no worker call`);
    const operations = new Set(worker.map((c) => c.operation));
    const missing = REQUIRED_WORKER_OPERATIONS.filter((op) => !operations.has(op));
    assert.deepEqual(missing, [], `no worker call of ${missing.join(', ')} in ${CALL_LOG}`);
    const operatorOperations = new Set(operator.map((c) => c.operation));
    assert.ok(
      operatorOperations.has('ListObjectsV2') && operatorOperations.has('GetObject'),
      'no `vsnap snapshots` call',
    );
  });

  it('every call comes from an actor a policy is judged for', () => {
    assert.deepEqual([...new Set(others.map((c) => c.actor))], []);
  });

  it('deploy/aws/vsnap-worker-iam-policy.json allows every worker call on the stack’s bucket, key and secrets', async () => {
    const verdicts = await judgeCalls(worker.filter(onStackBucket), loadPolicy(POLICY_FILES.worker), env);
    const report = denialReport(verdicts);
    assert.deepEqual(report, [], `the worker policy refuses:\n${report.join('\n')}`);
  });

  it('and refuses the calls the tests aimed at a bucket that does not exist', async () => {
    const elsewhere = worker.filter((c) => !onStackBucket(c) && !onLockBucket(c));
    const verdicts = await judgeCalls(elsewhere, loadPolicy(POLICY_FILES.worker), env);
    // A copy to a missing bucket also reads its source on the stack's bucket: that part is allowed.
    const onElsewhere = (v: Verdict) => v.authorization.resource.includes(`:::${String(v.call.request.Bucket)}`);
    const allowed = verdicts.filter((v) => v.decision === 'Allowed' && onElsewhere(v)).map(describeVerdict);
    assert.deepEqual(allowed, []);
  });

  it('deploy/aws/vsnap-copy-role-policy.json allows every call a copy made with its role', async () => {
    const verdicts = await judgeCalls(copyRole.filter(onStackBucket), loadPolicy(POLICY_FILES.copyRole), {
      ...env,
      account: COPY_ROLE_ACCOUNT,
    });
    const report = denialReport(verdicts);
    assert.deepEqual(report, [], `the copy role policy refuses:\n${report.join('\n')}`);
  });

  it('the copy calls were recorded: CopyObject, UploadPartCopy, AssumeRole, and calls under a copy role', () => {
    const operations = new Set(worker.filter((c) => c.actor.startsWith('worker copy ')).map((c) => c.operation));
    for (const op of ['CopyObject', 'UploadPartCopy', 'AssumeRole', 'PutObjectRetention']) {
      assert.ok(operations.has(op), `no worker copy ${op} in ${CALL_LOG}`);
    }
    assert.ok(
      copyRole.some((c) => c.operation === 'CopyObject'),
      'no CopyObject made with a copy role',
    );
  });

  it('the policy before the fix refuses HeadBucket and ListMultipartUploads: this test can fail', async () => {
    const verdicts = await judgeCalls(worker.filter(onStackBucket), loadPolicy(POLICY_FILES.workerBeforeFix), env);
    const refused = new Set(denials(verdicts).map((v) => v.call.operation));
    assert.ok(refused.has('HeadBucket'), denialReport(verdicts).join('\n'));
    assert.ok(refused.has('ListMultipartUploads'), denialReport(verdicts).join('\n'));
  });

  it('the worker policy allows Object Lock: the bucket check, locked writes, reading locks, deleting expired versions', async () => {
    const locked = worker.filter(onLockBucket);
    const operations = new Set(locked.map((c) => (c.request.VersionId ? `${c.operation}+VersionId` : c.operation)));
    for (const op of ['GetObjectLockConfiguration', 'HeadObject', 'ListObjectVersions', 'DeleteObject+VersionId']) {
      assert.ok(operations.has(op), `no worker ${op} on an Object Lock bucket in ${CALL_LOG}`);
    }
    assert.ok(
      locked.some((c) => c.operation === 'CreateMultipartUpload' && c.request.ObjectLockMode !== undefined),
      'no locked snapshot upload',
    );
    const verdicts = await judgePerBucket(locked, POLICY_FILES.worker);
    const report = denialReport(verdicts);
    assert.deepEqual(report, [], `the worker policy refuses:\n${report.join('\n')}`);
  });

  it('deploy/aws/vsnap-worker-iam-policy-no-delete.json allows every call of a worker whose retention is "lifecycle"', async () => {
    const lifecycle = worker.filter(onLifecycleBucket);
    const operations = new Set(lifecycle.map((c) => c.operation));
    for (const op of ['GetObjectLockConfiguration', 'CreateMultipartUpload', 'PutObject', 'ListObjectsV2']) {
      assert.ok(operations.has(op), `no worker ${op} on a lifecycle bucket in ${CALL_LOG}`);
    }
    const verdicts = await judgePerBucket(lifecycle, POLICY_FILES.workerNoDelete);
    const report = denialReport(verdicts);
    assert.deepEqual(report, [], `the no-delete policy refuses:\n${report.join('\n')}`);
  });

  it('and refuses every delete the worker made, versioned or not: this test can fail', async () => {
    const deletes = worker.filter(
      (c) => (onStackBucket(c) || onLockBucket(c)) && ['DeleteObject', 'DeleteObjects'].includes(c.operation),
    );
    assert.ok(
      deletes.some((c) => c.request.VersionId !== undefined),
      'no DeleteObject with a VersionId in the log',
    );
    const denied = await judgePerBucket(deletes, POLICY_FILES.workerNoDelete);
    const allowed = [...new Set(denied.filter((v) => v.decision === 'Allowed').map(describeVerdict))];
    assert.deepEqual(allowed, []);
    const stillAllowedByWorkerPolicy = await judgePerBucket(deletes, POLICY_FILES.worker);
    assert.deepEqual(denialReport(stillAllowedByWorkerPolicy), [], 'the same deletes pass the worker policy');
  });

  it('deploy/aws/vsnap-operator-readonly-policy.json allows every `vsnap snapshots` call', async () => {
    const verdicts = await judgeCalls(operator, loadPolicy(POLICY_FILES.operatorReadOnly), env);
    const report = denialReport(verdicts);
    assert.deepEqual(report, [], `the read-only operator policy refuses:\n${report.join('\n')}`);
  });

  it('and refuses every write and delete the worker made', async () => {
    const writes = worker.filter((c) => onStackBucket(c) && WRITES.includes(c.operation));
    assert.ok(
      writes.some((c) => c.operation === 'DeleteObjects'),
      'no worker DeleteObjects in the log',
    );
    const verdicts = await judgeCalls(writes, loadPolicy(POLICY_FILES.operatorReadOnly), env);
    // Each operation's own action, not the KMS calls S3 would have made for it had it been allowed.
    const own = verdicts.filter((v) => v.authorization.because === undefined);
    const allowed = [...new Set(own.filter((v) => v.decision !== 'ImplicitlyDenied').map(describeVerdict))];
    assert.deepEqual(allowed, []);
  });
});
