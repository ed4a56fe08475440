// The stack's snapshot bucket as the tests read and tamper with it, through the plain S3 API.
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
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
