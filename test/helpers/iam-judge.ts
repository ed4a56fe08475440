// Judges AWS calls recorded by VSNAP_AWS_CALL_LOG (worker/aws-call-log.ts) against an IAM policy
// as AWS would, since moto enforces no IAM: each call is mapped to the IAM actions, resource ARNs
// and condition keys that the Service Authorization Reference gives its operation (including
// those S3 checks on the caller's behalf: KMS for SSE-KMS objects, ListBucket for a 404), and
// @cloud-copilot/iam-simulate evaluates the policy for each. An operation with no mapping throws:
// a new kind of call cannot pass unjudged.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { AwsCallRecord } from '../../worker/aws-call-log';

const repoRoot = join(__dirname, '..', '..');

/** The shipped policies, and the worker policy as it was before HeadBucket was tested. */
export const POLICY_FILES = {
  worker: join(repoRoot, 'deploy/aws/vsnap-worker-iam-policy.json'),
  /** For retention.deleteBy "lifecycle": no delete permission of any kind. */
  workerNoDelete: join(repoRoot, 'deploy/aws/vsnap-worker-iam-policy-no-delete.json'),
  operatorReadOnly: join(repoRoot, 'deploy/aws/vsnap-operator-readonly-policy.json'),
  /** The policy of the role a storage copy in another account assumes (roleArn). */
  copyRole: join(repoRoot, 'deploy/aws/vsnap-copy-role-policy.json'),
  workerBeforeFix: join(repoRoot, 'test/fixtures/iam/worker-policy-before-fix.json'),
};

export type PolicyDocument = Record<string, unknown>;

export function loadPolicy(file: string): PolicyDocument {
  return JSON.parse(readFileSync(file, 'utf8')) as PolicyDocument;
}

/** Where the judged calls ran: the values a deployment writes into the shipped policies. */
export interface JudgeEnvironment {
  account: string;
  region: string;
  bucket: string;
  /** The snapshot KMS key's id (not an alias). */
  kmsKeyId: string;
  /** Roots of the clusters' storage prefixes, with the slash: ["vsnap/"]. */
  prefixRoots: string[];
  /** Alias name ("alias/x") → key ARN, for calls that name a key by alias. */
  kmsAliases?: Record<string, string>;
  /** The storage copies' bucket (a wildcard pattern may stand for the tests' buckets) and KMS key id. */
  copyBucket?: string;
  copyKmsKeyId?: string;
}

/**
 * The example deployment the shipped policies name (deploy/aws/*.json): an operator replaces
 * these values with theirs, and renderPolicy with the judged environment's. Concrete values
 * rather than ${placeholders} keep the files valid policies that deploy/kustomize/aws mirrors.
 */
export const SHIPPED_EXAMPLE = {
  bucket: 'eu-west-3-vault-snapshot',
  account: '111122223333',
  region: 'eu-west-3',
  kmsKeyId: 'REPLACE-WITH-SNAPSHOT-KEY-ID',
  prefixRoot: 'vsnap/',
  /** Only in policies that allow storage copies. */
  copyBucket: 'eu-central-1-vault-snapshot-copy',
  copyKmsKeyId: 'REPLACE-WITH-COPY-KEY-ID',
};

/** The policy with the example values replaced by `env`'s, one pass, so no value is replaced twice. */
export function renderPolicy(policy: PolicyDocument, env: JudgeEnvironment): PolicyDocument {
  const text = JSON.stringify(policy);
  const substitutes: Record<string, string> = {
    [SHIPPED_EXAMPLE.bucket]: env.bucket,
    [SHIPPED_EXAMPLE.account]: env.account,
    [SHIPPED_EXAMPLE.kmsKeyId]: env.kmsKeyId,
    [SHIPPED_EXAMPLE.region]: env.region,
  };
  const examples = [...Object.keys(substitutes), SHIPPED_EXAMPLE.prefixRoot];
  // The copy examples are optional: the first in the alternation, as they are the longest.
  const copySubstitutes: Record<string, string> = {};
  if (text.includes(SHIPPED_EXAMPLE.copyBucket)) copySubstitutes[SHIPPED_EXAMPLE.copyBucket] = env.copyBucket ?? '';
  if (text.includes(SHIPPED_EXAMPLE.copyKmsKeyId))
    copySubstitutes[SHIPPED_EXAMPLE.copyKmsKeyId] = env.copyKmsKeyId ?? '';
  Object.assign(substitutes, copySubstitutes);
  const missing = examples.filter((value) => !text.includes(value));
  if (missing.length > 0) {
    throw new Error(`the policy no longer names the example value(s) ${missing.join(', ')}; update SHIPPED_EXAMPLE`);
  }
  // The bucket name contains the region, so it comes first in the alternation (and the copy
  // bucket before it, as it contains another region).
  const order = [...Object.keys(copySubstitutes), ...Object.keys(substitutes).filter((k) => !(k in copySubstitutes))];
  const pattern = new RegExp(order.map(escapeRegExp).join('|'), 'g');
  const renderString = (s: string): string[] => {
    const replaced = s.replace(pattern, (example) => substitutes[example]);
    if (!replaced.includes(SHIPPED_EXAMPLE.prefixRoot)) return [replaced];
    return env.prefixRoots.map((root) => replaced.split(SHIPPED_EXAMPLE.prefixRoot).join(root));
  };
  const render = (value: unknown): unknown => {
    if (typeof value === 'string') {
      const out = renderString(value);
      return out.length === 1 ? out[0] : out;
    }
    if (Array.isArray(value)) return value.flatMap((v) => (typeof v === 'string' ? renderString(v) : [render(v)]));
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, render(v)]));
    }
    return value;
  };
  return render(policy) as PolicyDocument;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** One authorization AWS makes for a call. */
export interface Authorization {
  action: string;
  resource: string;
  context: Record<string, string | string[]>;
  /** Why a call needs this, when it is not the operation's own action. */
  because?: string;
}

export class UnmappedCallError extends Error {
  constructor(call: AwsCallRecord, detail = 'no IAM mapping for this operation; add one to test/helpers/iam-judge.ts') {
    super(`${call.actor}: ${call.service} ${call.operation}: ${detail}`);
    this.name = 'UnmappedCallError';
  }
}

type Mapping = (call: AwsCallRecord, env: JudgeEnvironment) => Authorization[];

const bucketArn = (call: AwsCallRecord) => `arn:aws:s3:::${String(call.request.Bucket)}`;
const objectArn = (call: AwsCallRecord, key = String(call.request.Key)) => `${bucketArn(call)}/${key}`;

/** s3:ListBucket with the condition keys the request sends (HeadBucket sends none). */
function listBucket(call: AwsCallRecord): Authorization {
  const context: Record<string, string> = {};
  if (call.request.Prefix !== undefined) context['s3:prefix'] = String(call.request.Prefix);
  if (call.request.Delimiter !== undefined) context['s3:delimiter'] = String(call.request.Delimiter);
  if (call.request.MaxKeys !== undefined) context['s3:max-keys'] = String(call.request.MaxKeys);
  return { action: 's3:ListBucket', resource: bucketArn(call), context };
}

function objectAction(action: string): Mapping {
  return (call) => [{ action, resource: objectArn(call), context: {} }];
}

/** s3:PutObject with the encryption and Object Lock headers the request sends, which policies often require. */
function putObject(call: AwsCallRecord): Authorization {
  const context: Record<string, string> = {};
  const { ServerSideEncryption, SSEKMSKeyId, ObjectLockMode, ObjectLockRetainUntilDate } = call.request;
  if (ServerSideEncryption !== undefined) context['s3:x-amz-server-side-encryption'] = String(ServerSideEncryption);
  if (SSEKMSKeyId !== undefined) context['s3:x-amz-server-side-encryption-aws-kms-key-id'] = String(SSEKMSKeyId);
  if (ObjectLockMode !== undefined) context['s3:object-lock-mode'] = String(ObjectLockMode);
  if (ObjectLockRetainUntilDate !== undefined) {
    context['s3:object-lock-retain-until-date'] = String(ObjectLockRetainUntilDate);
  }
  return { action: 's3:PutObject', resource: objectArn(call), context };
}

/** A write that carries Object Lock retention headers also needs the permission to set a retention. */
const lockHeadersNeedPutObjectRetention: Mapping = (call) =>
  call.request.ObjectLockMode !== undefined
    ? [
        {
          action: 's3:PutObjectRetention',
          resource: objectArn(call),
          context: {},
          because: 'an upload with Object Lock retention headers sets the object’s retention',
        },
      ]
    : [];

/** HeadObject names an object's Object Lock only to a caller with s3:GetObjectRetention; vsnap reads it. */
const lockFieldsNeedGetObjectRetention: Mapping = (call) =>
  call.response?.ObjectLockMode !== undefined
    ? [
        {
          action: 's3:GetObjectRetention',
          resource: objectArn(call),
          context: {},
          because: 'S3 returns the Object Lock mode and retain-until date only with s3:GetObjectRetention',
        },
      ]
    : [];

/**
 * For an SSE-KMS object S3 calls KMS with the caller's permissions: GenerateDataKey to write it,
 * Decrypt to read it, and both for a multipart upload (each part needs the upload's data key).
 * The key is the one S3 reports in the response, else the one the request named.
 */
function kmsViaS3(action: string): Mapping {
  return (call, env) => {
    const algorithm = call.response?.ServerSideEncryption ?? call.request.ServerSideEncryption;
    const keyId = call.response?.SSEKMSKeyId ?? call.request.SSEKMSKeyId;
    if (!String(algorithm ?? '').startsWith('aws:kms') || keyId === undefined) return [];
    const region = call.region ?? env.region;
    return [
      {
        action,
        resource: kmsKeyArn(String(keyId), call, env),
        context: { 'kms:ViaService': `s3.${region}.amazonaws.com`, 'kms:CallerAccount': env.account },
        because: 'S3 uses the SSE-KMS key with the caller’s permissions',
      },
    ];
  };
}

/** S3 answers 404 for a missing key only to a caller that may list the bucket; others get 403. */
const notFoundNeedsListBucket: Mapping = (call) =>
  call.outcome === 'NoSuchKey' || call.outcome === 'NotFound'
    ? [
        {
          action: 's3:ListBucket',
          resource: bucketArn(call),
          // Which prefix, if any, S3 evaluates here is not documented: assume none.
          context: {},
          because: 'a missing key is a 404 only with s3:ListBucket (else 403 AccessDenied)',
        },
      ]
    : [];

function all(...mappings: Mapping[]): Mapping {
  return (call, env) => mappings.flatMap((m) => m(call, env));
}

function kmsKeyArn(keyId: string, call: AwsCallRecord, env: JudgeEnvironment): string {
  if (/^arn:aws:kms:[^:]+:\d+:key\//.test(keyId)) return keyId;
  const alias = /(?:^|:)(alias\/.+)$/.exec(keyId)?.[1];
  if (alias) {
    const arn = env.kmsAliases?.[alias];
    if (!arn) throw new UnmappedCallError(call, `KMS alias ${alias} is not in the judge's kmsAliases`);
    return arn;
  }
  return `arn:aws:kms:${call.region ?? env.region}:${env.account}:key/${keyId}`;
}

const kmsKeyAction: Mapping = (call, env) => {
  // Decrypt may name no key (the ciphertext does); KMS answers with the key's ARN.
  const keyId = call.response?.KeyId ?? call.request.KeyId;
  if (keyId === undefined) throw new UnmappedCallError(call, 'the call names no KMS key, nor does its response');
  return [{ action: `kms:${call.operation}`, resource: kmsKeyArn(String(keyId), call, env), context: {} }];
};

/**
 * A secret's ARN ends in "-" and 6 random characters, which a policy must allow for ("name-*").
 * Without the real ARN from the response (a failed call), one with a made-up suffix stands in.
 */
const getSecretValue: Mapping = (call, env) => {
  const id = String(call.response?.ARN ?? call.request.SecretId);
  const arn = id.startsWith('arn:')
    ? id
    : `arn:aws:secretsmanager:${call.region ?? env.region}:${env.account}:secret:${id}-AbCdEf`;
  return [{ action: 'secretsmanager:GetSecretValue', resource: arn, context: {} }];
};

/** "bucket/key" of a CopySource, without a version id (vsnap copies current versions). */
function copySourceArn(call: AwsCallRecord): string {
  const source = String(call.request.CopySource);
  if (source.includes('?versionId=')) throw new UnmappedCallError(call, 'versioned copy sources are not mapped');
  return `arn:aws:s3:::${decodeURIComponent(source.replace(/^\//, ''))}`;
}

/**
 * CopyObject and UploadPartCopy read the source as the caller (s3:GetObject), and write the
 * destination (s3:PutObject, with the destination's encryption). The source's own KMS key
 * (kms:Decrypt) is not in the call and is not judged here: the copy role policy names it.
 */
const copyObject: Mapping = (call) => [
  { action: 's3:GetObject', resource: copySourceArn(call), context: {}, because: 'the copy reads its source' },
  putObject(call),
];

/**
 * sts:AssumeRole on the role. Only the caller's side: the role's trust policy
 * (deploy/aws/vsnap-copy-role-trust-policy.json) is the other account's, not simulated here.
 */
const assumeRole: Mapping = (call) => [
  { action: 'sts:AssumeRole', resource: String(call.request.RoleArn), context: {} },
];

/**
 * "service:Operation" → what AWS authorizes, per the Service Authorization Reference (S3, KMS,
 * Secrets Manager) and S3's documented KMS and 404 behaviour.
 */
const MAPPINGS: Record<string, Mapping> = {
  's3:HeadBucket': (call) => [listBucket(call)],
  's3:ListObjectsV2': (call) => [listBucket(call)],
  's3:ListObjects': (call) => [listBucket(call)],
  // s3:prefix is not a condition key of s3:ListBucketMultipartUploads: a policy that requires it
  // denies every call, whatever Prefix the request sends.
  's3:ListMultipartUploads': (call) => [
    { action: 's3:ListBucketMultipartUploads', resource: bucketArn(call), context: {} },
  ],
  's3:GetObject': all(objectAction('s3:GetObject'), notFoundNeedsListBucket, kmsViaS3('kms:Decrypt')),
  's3:HeadObject': all(objectAction('s3:GetObject'), notFoundNeedsListBucket, lockFieldsNeedGetObjectRetention),
  's3:PutObject': all((call) => [putObject(call)], lockHeadersNeedPutObjectRetention, kmsViaS3('kms:GenerateDataKey')),
  's3:CreateMultipartUpload': all(
    (call) => [putObject(call)],
    lockHeadersNeedPutObjectRetention,
    kmsViaS3('kms:GenerateDataKey'),
  ),
  's3:GetObjectLockConfiguration': (call) => [
    { action: 's3:GetBucketObjectLockConfiguration', resource: bucketArn(call), context: {} },
  ],
  // Lists versions and delete markers; the same condition keys as ListBucket.
  's3:ListObjectVersions': (call) => [{ ...listBucket(call), action: 's3:ListBucketVersions' }],
  's3:UploadPart': all(objectAction('s3:PutObject'), kmsViaS3('kms:Decrypt')),
  's3:CompleteMultipartUpload': all(objectAction('s3:PutObject'), kmsViaS3('kms:Decrypt')),
  's3:AbortMultipartUpload': objectAction('s3:AbortMultipartUpload'),
  's3:ListParts': objectAction('s3:ListMultipartUploadParts'),
  's3:DeleteObject': objectAction('s3:DeleteObject'),
  // Multi-object delete is authorized per object, as s3:DeleteObject.
  's3:DeleteObjects': (call) =>
    (call.request.Keys ?? []).map((key) => ({
      action: 's3:DeleteObject',
      resource: objectArn(call, key),
      context: {},
    })),
  's3:CopyObject': all(copyObject, kmsViaS3('kms:GenerateDataKey')),
  's3:UploadPartCopy': all(copyObject, kmsViaS3('kms:Decrypt')),
  's3:PutObjectRetention': objectAction('s3:PutObjectRetention'),
  'sts:AssumeRole': assumeRole,
  'kms:GenerateDataKey': kmsKeyAction,
  'kms:Decrypt': kmsKeyAction,
  'kms:Encrypt': kmsKeyAction,
  'kms:DescribeKey': kmsKeyAction,
  'secretsmanager:GetSecretValue': getSecretValue,
};

/**
 * A version id turns an object action into its *Version variant (deleting one version is
 * s3:DeleteObjectVersion, not s3:DeleteObject); the operations vsnap sends one with.
 */
const VERSIONED_ACTIONS: Record<string, string> = {
  's3:DeleteObject': 's3:DeleteObjectVersion',
  's3:GetObject': 's3:GetObjectVersion',
};

/** The authorizations AWS makes for `call`; throws UnmappedCallError for an operation the judge does not know. */
export function authorizationsFor(call: AwsCallRecord, env: JudgeEnvironment): Authorization[] {
  const mapping = MAPPINGS[`${call.service}:${call.operation}`];
  if (!mapping) throw new UnmappedCallError(call);
  const authorizations = mapping(call, env);
  if (call.request.VersionId === undefined) return authorizations;
  const versionedOperations = ['s3:DeleteObject', 's3:GetObject', 's3:HeadObject'];
  if (!versionedOperations.includes(`${call.service}:${call.operation}`)) {
    throw new UnmappedCallError(call, 'a versioned request of this operation is not mapped');
  }
  return authorizations.map((a) => {
    const action = VERSIONED_ACTIONS[a.action];
    return action && a.because === undefined ? { ...a, action } : a;
  });
}

export type Decision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';

export interface Verdict {
  call: AwsCallRecord;
  authorization: Authorization;
  decision: Decision;
}

/**
 * The key policy AWS gives a key created without one, as deploy/kustomize/aws/kms.yaml creates
 * it: it lets the account's IAM policies decide, so the judged policy is what counts.
 */
function defaultKeyPolicy(account: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${account}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
    ],
  };
}

/** Every authorization of every call, each simulated once against `policy` rendered for `env`. */
export async function judgeCalls(
  calls: AwsCallRecord[],
  policy: PolicyDocument,
  env: JudgeEnvironment,
): Promise<Verdict[]> {
  const rendered = renderPolicy(policy, env);
  const decisions = new Map<string, Promise<Decision>>();
  const verdicts: Promise<Verdict>[] = [];
  for (const call of calls) {
    for (const authorization of authorizationsFor(call, env)) {
      const { action, resource, context } = authorization;
      const id = JSON.stringify([action, resource, context]);
      if (!decisions.has(id)) decisions.set(id, simulate(authorization, rendered, env));
      verdicts.push(decisions.get(id)!.then((decision) => ({ call, authorization, decision })));
    }
  }
  return Promise.all(verdicts);
}

async function simulate(
  authorization: Authorization,
  policy: PolicyDocument,
  env: JudgeEnvironment,
): Promise<Decision> {
  const { action, resource, context } = authorization;
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:iam::${env.account}:role/vsnap`,
        action,
        resource: { resource, accountId: env.account },
        contextVariables: context,
      },
      identityPolicies: [{ name: 'judged', policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(action.startsWith('kms:') ? { resourcePolicy: defaultKeyPolicy(env.account) } : {}),
    },
    { simulationMode: 'Strict' },
  );
  if (result.resultType === 'error') {
    throw new Error(`iam-simulate rejected ${action} on ${resource}: ${JSON.stringify(result.errors)}`);
  }
  // A key the action does not have would be dropped silently: that is a mapping mistake.
  const results = result.resultType === 'single' ? [result.result] : result.results;
  const ignored = results.flatMap((r) => r.ignoredContextKeys ?? []);
  if (ignored.length > 0) throw new Error(`${action} has no condition key(s) ${ignored.join(', ')}; fix the mapping`);
  return result.overallResult;
}

/** The verdicts that are not Allowed. */
export function denials(verdicts: Verdict[]): Verdict[] {
  return verdicts.filter((v) => v.decision !== 'Allowed');
}

/** "worker HeadBucket: s3:ListBucket on arn:aws:s3:::bucket {} → ImplicitlyDenied", for failure messages. */
export function describeVerdict(v: Verdict): string {
  const { action, resource, context, because } = v.authorization;
  const why = because ? ` (${because})` : '';
  return `${v.call.actor} ${v.call.operation}: ${action} on ${resource} ${JSON.stringify(context)}${why} → ${v.decision}`;
}
