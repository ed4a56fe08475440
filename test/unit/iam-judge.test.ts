// The IAM judge on hand-written call records (no servers), and the call log that records them.
// Records look like the ones a backup of vsnap/prod writes on the local stack.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { logAwsCalls, type AwsCallRecord } from '../../worker/aws-call-log';
import { createAwsClients } from '../../worker/aws-clients';
import {
  authorizationsFor,
  denials,
  describeVerdict,
  judgeCalls,
  loadPolicy,
  POLICY_FILES,
  renderPolicy,
  UnmappedCallError,
  type JudgeEnvironment,
} from '../helpers/iam-judge';

const KEY_ID = '7366f2a4-9427-41df-9f81-fbadcdc3a680';
const env: JudgeEnvironment = {
  account: '123456789012',
  region: 'eu-west-3',
  bucket: 'eu-west-3-vsnap-snapshots',
  kmsKeyId: KEY_ID,
  prefixRoots: ['vsnap/'],
};
const KEY_ARN = `arn:aws:kms:eu-west-3:123456789012:key/${KEY_ID}`;
const SNAP = 'vsnap/prod/2026-11-28T01-28-02.081Z.snap';
const MANIFEST = 'vsnap/prod/manifests/2026-11-28T01-28-02.081Z.json';
const VERIFIED = 'vsnap/prod/manifests/2026-11-28T01-28-02.081Z.verified.json';
const SSE_KMS = { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KEY_ID };

function call(
  service: string,
  operation: string,
  request: AwsCallRecord['request'],
  extra: Partial<AwsCallRecord> = {},
): AwsCallRecord {
  return {
    time: '2026-11-28T01:28:02.081Z',
    actor: 'worker',
    service,
    operation,
    region: 'eu-west-3',
    outcome: 'ok',
    request,
    ...extra,
  };
}

const s3 = (operation: string, request: AwsCallRecord['request'], extra?: Partial<AwsCallRecord>) =>
  call('s3', operation, { Bucket: env.bucket, ...request }, extra);

/** One backup, one retention pass and one failed upload, as the worker makes them. */
const workerCalls: AwsCallRecord[] = [
  s3('HeadBucket', {}),
  call('kms', 'GenerateDataKey', { KeyId: KEY_ID }, { response: { KeyId: KEY_ARN } }),
  call(
    'secretsmanager',
    'GetSecretValue',
    { SecretId: 'security/vault/vault-snapshot' },
    { response: { ARN: 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:security/vault/vault-snapshot-kOKNif' } },
  ),
  call('secretsmanager', 'GetSecretValue', { SecretId: 'security/vault/prod/key-shares' }),
  s3('ListMultipartUploads', { Prefix: SNAP }),
  s3('CreateMultipartUpload', { Key: SNAP, ...SSE_KMS }, { response: SSE_KMS }),
  s3('UploadPart', { Key: SNAP }, { response: SSE_KMS }),
  s3('CompleteMultipartUpload', { Key: SNAP }, { response: SSE_KMS }),
  s3('PutObject', { Key: MANIFEST, ...SSE_KMS }, { response: SSE_KMS }),
  s3('ListObjectsV2', { Prefix: 'vsnap/prod/', Delimiter: '/' }),
  s3('GetObject', { Key: MANIFEST }, { response: SSE_KMS }),
  s3('DeleteObjects', { Keys: [SNAP, MANIFEST, VERIFIED] }),
  s3('ListMultipartUploads', { Prefix: 'vsnap/prod/' }),
  s3('AbortMultipartUpload', { Key: SNAP }),
];

/** What `vsnap snapshots list` and `inspect` ask S3 for. */
const operatorCalls: AwsCallRecord[] = [
  s3('ListObjectsV2', { Prefix: 'vsnap/prod/', Delimiter: '/' }),
  s3('GetObject', { Key: MANIFEST }, { response: SSE_KMS }),
  s3('GetObject', { Key: VERIFIED }, { outcome: 'NoSuchKey' }),
  s3('GetObject', { Key: SNAP }, { response: SSE_KMS }),
].map((c) => ({ ...c, actor: 'vsnap snapshots list' }));

const deniedActions = async (calls: AwsCallRecord[], policyFile: string) =>
  denials(await judgeCalls(calls, loadPolicy(policyFile), env)).map(
    (v) => `${v.call.operation} ${v.authorization.action}`,
  );

describe('IAM judge: the shipped worker policy against what the worker calls', () => {
  it('allows every call of a backup, a retention pass and an aborted upload', async () => {
    const verdicts = await judgeCalls(workerCalls, loadPolicy(POLICY_FILES.worker), env);
    assert.deepEqual(denials(verdicts).map(describeVerdict), []);
    // SSE-KMS brought in the KMS calls S3 makes for the worker.
    assert.ok(verdicts.some((v) => v.call.operation === 'UploadPart' && v.authorization.action === 'kms:Decrypt'));
  });

  it('the policy before the fix denied HeadBucket (no s3:prefix) and every ListMultipartUploads, nothing else', async () => {
    assert.deepEqual(await deniedActions(workerCalls, POLICY_FILES.workerBeforeFix), [
      'HeadBucket s3:ListBucket',
      'ListMultipartUploads s3:ListBucketMultipartUploads',
      'ListMultipartUploads s3:ListBucketMultipartUploads',
    ]);
  });

  it('a missing manifest is a 404 only with s3:ListBucket: allowed now, a 403 before the fix', async () => {
    const missing = [s3('GetObject', { Key: MANIFEST }, { outcome: 'NoSuchKey' })];
    assert.deepEqual(await deniedActions(missing, POLICY_FILES.worker), []);
    assert.deepEqual(await deniedActions(missing, POLICY_FILES.workerBeforeFix), ['GetObject s3:ListBucket']);
  });

  it('denies what lies outside the bucket, the prefix, the key and the two secrets', async () => {
    const outside = [
      call('s3', 'HeadBucket', { Bucket: 'someone-elses-bucket' }),
      s3('GetObject', { Key: 'other/2026-11-28T01-28-02.081Z.snap' }),
      s3('ListObjectsV2', { Prefix: 'other/' }),
      call('kms', 'GenerateDataKey', { KeyId: '00000000-0000-0000-0000-000000000000' }),
      call('secretsmanager', 'GetSecretValue', { SecretId: 'security/vault/root-token' }),
    ];
    assert.equal(denials(await judgeCalls(outside, loadPolicy(POLICY_FILES.worker), env)).length, outside.length);
  });
});

describe('IAM judge: the read-only operator policy', () => {
  it('allows `vsnap snapshots list` and `inspect`, including a missing drill record and SSE-KMS reads', async () => {
    assert.deepEqual(await deniedActions(operatorCalls, POLICY_FILES.operatorReadOnly), []);
  });

  it('denies every write and delete the worker makes, and KMS outside S3', async () => {
    const writes = workerCalls.filter((c) =>
      [
        'CreateMultipartUpload',
        'UploadPart',
        'CompleteMultipartUpload',
        'PutObject',
        'DeleteObjects',
        'AbortMultipartUpload',
        'GenerateDataKey',
      ].includes(c.operation),
    );
    const verdicts = await judgeCalls(writes, loadPolicy(POLICY_FILES.operatorReadOnly), env);
    // Each operation's own action (not the KMS calls S3 would make for it, had it been allowed).
    const own = verdicts.filter((v) => v.authorization.because === undefined);
    assert.ok(own.length >= writes.length);
    assert.deepEqual(own.filter((v) => v.decision !== 'ImplicitlyDenied').map(describeVerdict), []);
  });
});

describe('IAM judge: mappings', () => {
  it('an operation it has no mapping for fails, naming it', async () => {
    const unknown = s3('GetBucketLocation', {});
    assert.throws(() => authorizationsFor(unknown, env), UnmappedCallError);
    assert.throws(() => authorizationsFor(unknown, env), /s3 GetBucketLocation/);
    await assert.rejects(
      judgeCalls([...workerCalls, unknown], loadPolicy(POLICY_FILES.worker), env),
      /GetBucketLocation/,
    );
  });

  it('maps HeadBucket to s3:ListBucket with no s3:prefix, and ListMultipartUploads without one', () => {
    assert.deepEqual(authorizationsFor(s3('HeadBucket', {}), env), [
      { action: 's3:ListBucket', resource: `arn:aws:s3:::${env.bucket}`, context: {} },
    ]);
    assert.deepEqual(authorizationsFor(s3('ListMultipartUploads', { Prefix: 'vsnap/prod/' }), env), [
      { action: 's3:ListBucketMultipartUploads', resource: `arn:aws:s3:::${env.bucket}`, context: {} },
    ]);
    assert.deepEqual(
      authorizationsFor(s3('ListObjectsV2', { Prefix: 'vsnap/prod/', Delimiter: '/' }), env)[0].context,
      {
        's3:prefix': 'vsnap/prod/',
        's3:delimiter': '/',
      },
    );
  });

  it('a KMS alias resolves only through the alias map', () => {
    const byAlias = call('kms', 'GenerateDataKey', { KeyId: 'alias/vsnap-snapshots' });
    assert.throws(() => authorizationsFor(byAlias, env), /alias\/vsnap-snapshots/);
    const withAliases = { ...env, kmsAliases: { 'alias/vsnap-snapshots': KEY_ARN } };
    assert.equal(authorizationsFor(byAlias, withAliases)[0].resource, KEY_ARN);
  });

  it('renders the shipped example values as the judged environment, each prefix root in turn', () => {
    const rendered = JSON.stringify(
      renderPolicy(loadPolicy(POLICY_FILES.worker), { ...env, prefixRoots: ['vsnap/', 'test/'] }),
    );
    for (const example of ['eu-west-3-vault-snapshot', '111122223333', 'REPLACE-WITH-SNAPSHOT-KEY-ID']) {
      assert.ok(!rendered.includes(example), example);
    }
    assert.ok(rendered.includes(`"arn:aws:s3:::${env.bucket}/vsnap/*","arn:aws:s3:::${env.bucket}/test/*"`));
    assert.ok(rendered.includes(`key/${KEY_ID}`));
  });
});

describe('VSNAP_AWS_CALL_LOG', () => {
  const logFile = () => join(mkdtempSync(join(tmpdir(), 'vsnap-calls-')), 'aws-calls.jsonl');
  const credentials = { accessKeyId: 'AKIAUNITTESTONLY0000', secretAccessKey: 'unit-test-secret-access-key' };

  it('records a call that failed to connect: operation, bucket, actor; no credentials, no body', async () => {
    const file = logFile();
    const client = new S3Client({
      endpoint: 'http://127.0.0.1:9', // discard: nothing listens
      region: 'eu-west-3',
      forcePathStyle: true,
      maxAttempts: 1,
      credentials,
    });
    logAwsCalls(client, 'unit test', { VSNAP_AWS_CALL_LOG: file });
    await assert.rejects(client.send(new HeadBucketCommand({ Bucket: 'eu-west-3-vsnap-snapshots' })));
    await assert.rejects(
      client.send(new PutObjectCommand({ Bucket: 'b', Key: 'vsnap/x', Body: 'body-must-not-be-recorded' })),
    );
    client.destroy();

    const text = readFileSync(file, 'utf8');
    const records = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AwsCallRecord);
    assert.equal(records.length, 2);
    const [head, put] = records;
    assert.equal(head.operation, 'HeadBucket');
    assert.equal(head.service, 's3');
    assert.equal(head.actor, 'unit test');
    assert.equal(head.region, 'eu-west-3');
    assert.equal(head.request.Bucket, 'eu-west-3-vsnap-snapshots');
    assert.notEqual(head.outcome, 'ok');
    assert.deepEqual(put.request, { Bucket: 'b', Key: 'vsnap/x' });
    for (const secret of [credentials.accessKeyId, credentials.secretAccessKey, 'body-must-not-be-recorded']) {
      assert.ok(!text.includes(secret), `${secret} is in the call log`);
    }
  });

  it('createAwsClients logs all three clients when set, none when unset', () => {
    const config = { aws: { region: 'eu-west-3', s3ForcePathStyle: true } };
    const logged = createAwsClients(config, 'worker', { VSNAP_AWS_CALL_LOG: logFile() });
    const plain = createAwsClients(config, 'worker', {});
    for (const name of ['s3', 'secretsManager', 'kms'] as const) {
      assert.ok(
        logged[name].middlewareStack.identify().some((m) => m.startsWith('vsnapAwsCallLog')),
        name,
      );
      assert.ok(!plain[name].middlewareStack.identify().some((m) => m.startsWith('vsnapAwsCallLog')), name);
    }
    logged.destroy();
    plain.destroy();
  });

  it('a path that cannot be written fails at start, naming the variable', () => {
    const config = { aws: { region: 'eu-west-3', s3ForcePathStyle: true } };
    assert.throws(
      () => createAwsClients(config, 'worker', { VSNAP_AWS_CALL_LOG: '/nonexistent-dir/aws-calls.jsonl' }),
      /VSNAP_AWS_CALL_LOG=\/nonexistent-dir\/aws-calls.jsonl cannot be written \(ENOENT\)/,
    );
  });
});
