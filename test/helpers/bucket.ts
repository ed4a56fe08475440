// The stack's snapshot bucket as the tests read and tamper with it, through the plain S3 API.
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { SnapshotArchiveValidator } from '../../activities/archive/snapshot-archive';
import { s3Client, stackEnv } from './stack';

export const s3 = s3Client();
export const bucket = stackEnv.VSNAP_BUCKET;

export async function objectBytes(key: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

export async function putBytes(key: string, body: Buffer | string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

/** Reads a stored snapshot and checks it the way a restore would: SHA-256 and archive structure. */
export async function assertValidSnapshot(key: string, expectedSha256: string): Promise<void> {
  const bytes = await objectBytes(key);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== expectedSha256) throw new Error(`${key}: SHA-256 ${sha256}, expected ${expectedSha256}`);
  const validator = new SnapshotArchiveValidator();
  validator.input.end(bytes);
  await validator.facts;
}

/** The multipart uploads still open under `prefix`/: an interrupted run must leave none. */
export async function openUploads(prefix: string): Promise<string[]> {
  const res = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${prefix}/` }));
  return (res.Uploads ?? []).map((u) => u.Key!);
}

/**
 * A refused run left no trace in the bucket: no object and no open upload under `prefix`/.
 * `canaryUnchanged`, when given, proves the Vault side too (no canary was written).
 */
export async function assertNothingWritten(prefix: string, canaryUnchanged?: () => Promise<void>): Promise<void> {
  const objects = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/` }));
  assert.deepEqual(
    (objects.Contents ?? []).map((o) => o.Key),
    [],
    `objects under ${prefix}/`,
  );
  assert.deepEqual(await openUploads(prefix), [], `open multipart uploads under ${prefix}/`);
  await canaryUnchanged?.();
}

/** How S3 says it stores `key` encrypted: the algorithm and the KMS key id, if any. */
export async function storedEncryption(key: string): Promise<{ algorithm?: string; kmsKeyId?: string }> {
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  return {
    ...(head.ServerSideEncryption ? { algorithm: head.ServerSideEncryption } : {}),
    ...(head.SSEKMSKeyId ? { kmsKeyId: head.SSEKMSKeyId } : {}),
  };
}
