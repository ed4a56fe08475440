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
import { repoRoot, stackEnv } from '../helpers/stack';

const CALL_LOG = join(repoRoot, '.stack', 'aws-calls.jsonl');

/** moto's default account: the stack does not set MOTO_ACCOUNT_ID. */
const MOTO_ACCOUNT = '123456789012';

const env: JudgeEnvironment = {
  account: MOTO_ACCOUNT,
  region: stackEnv.AWS_REGION,
  bucket: stackEnv.VSNAP_BUCKET,
  kmsKeyId: stackEnv.VSNAP_KMS_KEY_ID,
  // vsnap/: the stack's clusters; test/: isolatedCluster() in test/helpers/stack.ts; bench/: the bench's cluster.
  prefixRoots: ['vsnap/', 'test/', 'bench/'],
};

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
const onStackBucket = (c: AwsCallRecord) => c.request.Bucket === undefined || c.request.Bucket === env.bucket;

describe('IAM: the calls the test suite made, judged against the shipped policies', () => {
  let worker: AwsCallRecord[];
  let operator: AwsCallRecord[];
  let others: AwsCallRecord[];

  before(() => {
    const calls = readCallLog();
    worker = calls.filter((c) => c.actor === 'worker');
    operator = calls.filter((c) => c.actor.startsWith('vsnap snapshots '));
    others = calls.filter((c) => !worker.includes(c) && !operator.includes(c));
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
    const elsewhere = worker.filter((c) => !onStackBucket(c));
    const verdicts = await judgeCalls(elsewhere, loadPolicy(POLICY_FILES.worker), env);
    const allowed = verdicts.filter((v) => v.decision === 'Allowed').map(describeVerdict);
    assert.deepEqual(allowed, []);
  });

  it('the policy before the fix refuses HeadBucket and ListMultipartUploads: this test can fail', async () => {
    const verdicts = await judgeCalls(worker.filter(onStackBucket), loadPolicy(POLICY_FILES.workerBeforeFix), env);
    const refused = new Set(denials(verdicts).map((v) => v.call.operation));
    assert.ok(refused.has('HeadBucket'), denialReport(verdicts).join('\n'));
    assert.ok(refused.has('ListMultipartUploads'), denialReport(verdicts).join('\n'));
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
