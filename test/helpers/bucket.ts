// The stack's snapshot bucket as the tests read and tamper with it, through the plain S3 API.
import { createHash } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
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
