// Copying one stored object to another bucket (a storage.copies destination). Server-side when
// S3 allows it: CopyObject up to 5 GiB, UploadPartCopy in ranges above, so the bytes never
// leave S3. When the destination's credentials may not read the source (a role in another
// account, with no bucket policy on the source granting it), the worker carries the bytes:
// GET with its own credentials, multipart upload with the copy's.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectRetentionCommand,
  S3ServiceException,
  UploadPartCopyCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { PartAssembler } from './part-assembler';
import { planPartSizes } from './part-sizes';
import type { ObjectLockRetention } from './object-lock';
import type { SnapshotStore } from './snapshot-store';

/** How a copy got there: one CopyObject, UploadPartCopy ranges, or through the worker. */
export type CopyMethod = 'server-side' | 'multipart' | 'through-worker';

export interface ObjectLocation {
  bucket: string;
  key: string;
}

export interface ObjectCopy {
  source: ObjectLocation;
  destination: ObjectLocation & { kmsKeyId?: string };
  size: number;
  signal: AbortSignal;
  onProgress?: (bytes: number) => void;
}

/** UploadPartCopy parts in flight at once: S3 does the work, the worker only waits. */
const PART_COPY_CONCURRENCY = 4;

export function isAccessDenied(err: unknown): boolean {
  return err instanceof S3ServiceException && (err.name === 'AccessDenied' || err.$metadata.httpStatusCode === 403);
}

export function isNoSuchBucket(err: unknown): boolean {
  return err instanceof S3ServiceException && err.name === 'NoSuchBucket';
}

function sse(kmsKeyId: string | undefined) {
  return kmsKeyId ? { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: kmsKeyId } : {};
}

/** x-amz-copy-source: the key URL-encoded, its slashes kept. */
function copySource(source: ObjectLocation): string {
  return `${source.bucket}/${encodeURIComponent(source.key).replace(/%2F/g, '/')}`;
}

/**
 * Copies inside S3 with the destination's client: one CopyObject for objects up to `partBytes`
 * (S3 refuses CopyObject above 5 GiB), UploadPartCopy ranges of `partBytes` above.
 */
export async function copyServerSide(
  s3: SnapshotStore['s3'],
  copy: ObjectCopy,
  partBytes: number,
): Promise<Exclude<CopyMethod, 'through-worker'>> {
  const { source, destination } = copy;
  if (copy.size <= partBytes) {
    await s3.send(
      new CopyObjectCommand({
        Bucket: destination.bucket,
        Key: destination.key,
        CopySource: copySource(source),
        ...sse(destination.kmsKeyId),
      }),
      { abortSignal: copy.signal },
    );
    copy.onProgress?.(copy.size);
    return 'server-side';
  }
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({
      Bucket: destination.bucket,
      Key: destination.key,
      ContentType: 'application/gzip',
      ...sse(destination.kmsKeyId),
    }),
  );
  if (!UploadId) throw new Error(`S3 returned no UploadId for s3://${destination.bucket}/${destination.key}`);
  try {
    const ranges: { partNumber: number; start: number; end: number }[] = [];
    for (let start = 0; start < copy.size; start += partBytes) {
      ranges.push({ partNumber: ranges.length + 1, start, end: Math.min(start + partBytes, copy.size) - 1 });
    }
    const parts: CompletedPart[] = [];
    let copied = 0;
    const next = async (): Promise<void> => {
      for (let range = ranges.shift(); range; range = ranges.shift()) {
        const res = await s3.send(
          new UploadPartCopyCommand({
            Bucket: destination.bucket,
            Key: destination.key,
            UploadId,
            PartNumber: range.partNumber,
            CopySource: copySource(source),
            CopySourceRange: `bytes=${range.start}-${range.end}`,
          }),
          { abortSignal: copy.signal },
        );
        parts.push({ PartNumber: range.partNumber, ETag: res.CopyPartResult?.ETag });
        copied += range.end - range.start + 1;
        copy.onProgress?.(copied);
      }
    };
    await Promise.all(Array.from({ length: PART_COPY_CONCURRENCY }, next));
    parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: destination.bucket,
        Key: destination.key,
        UploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
    return 'multipart';
  } catch (err) {
    await s3
      .send(new AbortMultipartUploadCommand({ Bucket: destination.bucket, Key: destination.key, UploadId }))
      .catch(() => undefined);
    throw err;
  }
}

/**
 * Reads the source with the worker's own store and writes it with the destination's: a
 * multipart upload for a snapshot (its memory bounded as for a backup), one PutObject for a
 * small object such as a manifest.
 */
export async function copyThroughWorker(
  from: SnapshotStore,
  to: SnapshotStore,
  copy: ObjectCopy,
  upload: { partBytes: number; concurrency: number; maxParts: number },
): Promise<'through-worker'> {
  const { source, destination } = copy;
  if (copy.size <= upload.partBytes) {
    const res = await from.s3.send(new GetObjectCommand({ Bucket: source.bucket, Key: source.key }), {
      abortSignal: copy.signal,
    });
    const body = Buffer.from(await res.Body!.transformToByteArray());
    await to.s3.send(
      new PutObjectCommand({
        Bucket: destination.bucket,
        Key: destination.key,
        Body: body,
        ContentType: res.ContentType,
        ...sse(destination.kmsKeyId),
      }),
      { abortSignal: copy.signal },
    );
    copy.onProgress?.(body.length);
    return 'through-worker';
  }
  const { body } = await from.openSnapshot(source.bucket, source.key, copy.signal);
  const multipart = await to.startUpload({
    bucket: destination.bucket,
    key: destination.key,
    ...(destination.kmsKeyId ? { kmsKeyId: destination.kmsKeyId } : {}),
    metadata: {},
    concurrency: upload.concurrency,
  });
  try {
    let stored = 0;
    const sizes = planPartSizes(upload.partBytes, upload.maxParts);
    const parts = new PartAssembler(sizes.partBytes, upload.concurrency + 1, async (part, release) => {
      const length = part.length;
      await multipart.addPart(part, copy.signal, () => {
        stored += length;
        copy.onProgress?.(stored);
        release();
      });
    });
    for await (const chunk of body as AsyncIterable<Buffer>) await parts.write(chunk);
    await parts.end();
    await multipart.complete();
    return 'through-worker';
  } catch (err) {
    await multipart.abort().catch(() => undefined);
    throw err;
  }
}

/** A small object's bytes (a manifest), for a byte-for-byte comparison. */
export async function objectBytes(store: SnapshotStore, location: ObjectLocation): Promise<Buffer> {
  const res = await store.s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

/**
 * Locks a written object with PutObjectRetention and returns the retain-until date S3 then
 * reports. Lock headers on the copy itself would be one request on AWS, but moto refuses them
 * on CopyObject (it wants a checksum header the SDK does not send there) and ignores them on
 * multipart uploads, and SeaweedFS ignores them on CopyObject: a separate PutObjectRetention
 * works on all three. HeadObject then proves the store kept the lock, rather than trusting it.
 */
export async function lockObject(
  store: SnapshotStore,
  location: ObjectLocation,
  retention: ObjectLockRetention,
): Promise<Date> {
  await store.s3.send(
    new PutObjectRetentionCommand({
      Bucket: location.bucket,
      Key: location.key,
      Retention: { Mode: retention.mode, RetainUntilDate: retention.retainUntil },
    }),
  );
  const head = await store.s3.send(new HeadObjectCommand({ Bucket: location.bucket, Key: location.key }));
  const until = head.ObjectLockRetainUntilDate;
  // SeaweedFS keeps whole seconds: a date up to 1 s early is still the lock asked for.
  if (!until || until.getTime() < retention.retainUntil.getTime() - 1000) {
    throw new Error(
      `s3://${location.bucket}/${location.key} was not locked: S3 accepted PutObjectRetention until ` +
        `${retention.retainUntil.toISOString()} but reports ${until ? until.toISOString() : 'no lock'}`,
    );
  }
  return until;
}
