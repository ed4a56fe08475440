// The one S3 layer: multipart uploads of snapshots, sidecar manifests, listing and deletion.
// An object appears under its final key only when CompleteMultipartUpload runs, which the
// caller does after the archive validated; every other ending aborts the upload.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { CompletedPart } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { manifestKeyFor, snapshotFileName, snapshotTimeOf, verificationKeyFor } from './snapshot-keys';
import { MANIFEST_FORMAT, type SnapshotManifest } from './manifest';
import { ObjectLockAccessDeniedError, ObjectLockNotEnabledError, type ObjectLockRetention } from './object-lock';
import type { VerificationRecord } from '../../workflows/restore-types';

export class BucketNotFoundError extends Error {
  constructor(readonly bucket: string) {
    super(`S3 bucket "${bucket}" does not exist or this worker cannot reach it; create it or fix storage.bucket`);
    this.name = 'BucketNotFoundError';
  }
}

/** S3 refused HeadBucket: the worker's role lacks s3:ListBucket on the bucket (no prefix). */
export class BucketAccessDeniedError extends Error {
  constructor(readonly bucket: string) {
    super(
      `S3 refused HeadBucket on "${bucket}" (403 AccessDenied): the worker's role needs s3:ListBucket on ` +
        `arn:aws:s3:::${bucket} with no s3:prefix condition (HeadBucket sends none); compare its policy with ` +
        'deploy/aws/vsnap-worker-iam-policy.json',
    );
    this.name = 'BucketAccessDeniedError';
  }
}

export interface SnapshotObject {
  key: string;
  size: number;
  lastModified: Date;
  /** Time encoded in the key. */
  takenAt: Date;
  manifest?: SnapshotManifest;
}

/**
 * Every write states its checksum: S3 refuses an Object Lock write (PutObject, and each part of a
 * multipart upload) that carries neither Content-MD5 nor an x-amz-checksum-* header. CRC32 is the
 * one the SDK computes anyway as it sends the body, so naming it costs no extra pass over the bytes.
 */
const CHECKSUM_ALGORITHM = 'CRC32';

/** The Object Lock headers of a write, none without a retention. */
function lockHeaders(lock: ObjectLockRetention | undefined) {
  return lock ? { ObjectLockMode: lock.mode, ObjectLockRetainUntilDate: lock.retainUntil } : {};
}

function isNotFound(err: unknown): boolean {
  return (
    err instanceof S3ServiceException &&
    (err.name === 'NoSuchBucket' || err.name === 'NotFound' || err.$metadata.httpStatusCode === 404)
  );
}

export class SnapshotStore {
  /** `s3` is public for the copy layer (copy-object.ts), which sends CopyObject and UploadPartCopy with it. */
  constructor(readonly s3: S3Client) {}

  async assertBucketExists(bucket: string): Promise<void> {
    try {
      await this.s3.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch (err) {
      if (isNotFound(err)) throw new BucketNotFoundError(bucket);
      // No retry fixes a policy: without this, a 403 was retried as if it were transient.
      if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 403) {
        throw new BucketAccessDeniedError(bucket);
      }
      throw err;
    }
  }

  /** Throws unless the bucket has Object Lock enabled (a bucket-wide setting made at its creation). */
  async assertObjectLockEnabled(bucket: string): Promise<void> {
    try {
      const res = await this.s3.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
      if (res.ObjectLockConfiguration?.ObjectLockEnabled !== 'Enabled') throw new ObjectLockNotEnabledError(bucket);
    } catch (err) {
      if (err instanceof S3ServiceException && err.name === 'ObjectLockConfigurationNotFoundError') {
        throw new ObjectLockNotEnabledError(bucket);
      }
      if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 403) {
        throw new ObjectLockAccessDeniedError(bucket);
      }
      throw err;
    }
  }

  async startUpload(req: {
    bucket: string;
    key: string;
    kmsKeyId?: string;
    metadata: Record<string, string>;
    concurrency: number;
    lock?: ObjectLockRetention;
  }): Promise<MultipartUpload> {
    let uploadId: string | undefined;
    try {
      const created = await this.s3.send(
        new CreateMultipartUploadCommand({
          Bucket: req.bucket,
          Key: req.key,
          ContentType: 'application/gzip',
          Metadata: req.metadata,
          ChecksumAlgorithm: CHECKSUM_ALGORITHM,
          ...(req.kmsKeyId ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: req.kmsKeyId } : {}),
          ...lockHeaders(req.lock),
        }),
      );
      uploadId = created.UploadId;
    } catch (err) {
      if (isNotFound(err)) throw new BucketNotFoundError(req.bucket);
      throw err;
    }
    if (!uploadId) throw new Error(`S3 returned no UploadId for s3://${req.bucket}/${req.key}`);
    return new MultipartUpload(this.s3, req.bucket, req.key, uploadId, req.concurrency);
  }

  /**
   * Aborts unfinished multipart uploads under `prefix`: all of them for an exact key (an
   * earlier attempt of the same backup, e.g. on a worker that was killed), or those older
   * than `olderThan` under a prefix. Returns how many were aborted.
   */
  async abortUploads(bucket: string, prefix: string, filter: { exactKey?: string; olderThan?: Date }): Promise<number> {
    let aborted = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const page = await this.s3.send(
        new ListMultipartUploadsCommand({
          Bucket: bucket,
          Prefix: prefix,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
      );
      for (const u of page.Uploads ?? []) {
        const matches = filter.exactKey
          ? u.Key === filter.exactKey
          : filter.olderThan !== undefined && u.Initiated !== undefined && u.Initiated < filter.olderThan;
        if (!matches || !u.Key || !u.UploadId) continue;
        await this.s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }));
        aborted++;
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
    return aborted;
  }

  async putManifest(
    bucket: string,
    manifest: SnapshotManifest,
    kmsKeyId?: string,
    lock?: ObjectLockRetention,
  ): Promise<void> {
    await this.putRecord(bucket, manifestKeyFor(manifest.key), manifest, kmsKeyId, lock);
  }

  async readManifest(bucket: string, snapshotKey: string): Promise<SnapshotManifest | undefined> {
    const parsed = await this.readJson<SnapshotManifest>(bucket, manifestKeyFor(snapshotKey));
    // A copy's manifest is the primary's, byte for byte, so it records the key the snapshot was
    // first written at; under a copy's own prefix only the file name (the time taken) matches.
    return parsed?.format === MANIFEST_FORMAT &&
      typeof parsed.key === 'string' &&
      snapshotFileName(parsed.key) === snapshotFileName(snapshotKey)
      ? (parsed as SnapshotManifest)
      : undefined;
  }

  /** A small JSON object, or undefined when there is none (a record that is not JSON throws). */
  private async readJson<T>(bucket: string, key: string): Promise<Partial<T> | undefined> {
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return JSON.parse(await res.Body!.transformToString('utf8')) as Partial<T>;
    } catch (err) {
      if (err instanceof S3ServiceException && (err.name === 'NoSuchKey' || err.$metadata.httpStatusCode === 404)) {
        return undefined;
      }
      throw err;
    }
  }

  /** Snapshots under `prefix`, newest first, each with its manifest if it has one. */
  async listSnapshots(bucket: string, prefix: string): Promise<SnapshotObject[]> {
    const objects = await this.listSnapshotObjects(bucket, prefix);
    for (const o of objects) {
      const manifest = await this.readManifest(bucket, o.key);
      if (manifest) o.manifest = manifest;
    }
    return objects;
  }

  /** The manifest of the newest snapshot that has one, reading manifests newest first only as far as needed. */
  async latestManifest(bucket: string, prefix: string): Promise<SnapshotManifest | undefined> {
    for (const o of await this.listSnapshotObjects(bucket, prefix)) {
      const manifest = await this.readManifest(bucket, o.key);
      if (manifest) return manifest;
    }
    return undefined;
  }

  /** Snapshot objects under `prefix`, newest first, without their manifests. */
  private async listSnapshotObjects(bucket: string, prefix: string): Promise<SnapshotObject[]> {
    const objects: SnapshotObject[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.s3.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/`, Delimiter: '/', ContinuationToken: token }),
        );
      } catch (err) {
        if (isNotFound(err)) throw new BucketNotFoundError(bucket);
        throw err;
      }
      for (const o of page.Contents ?? []) {
        const takenAt = o.Key ? snapshotTimeOf(o.Key) : undefined;
        if (!o.Key || !takenAt) continue;
        objects.push({ key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? takenAt, takenAt });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    objects.sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime());
    return objects;
  }

  /** Opens a stored snapshot for streaming. */
  async openSnapshot(bucket: string, key: string, signal?: AbortSignal): Promise<{ body: Readable; size: number }> {
    const res = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    return { body: res.Body as Readable, size: res.ContentLength ?? 0 };
  }

  /** The newest snapshot that has a manifest, or undefined. */
  async latestValidSnapshot(bucket: string, prefix: string): Promise<SnapshotObject | undefined> {
    return (await this.listSnapshots(bucket, prefix)).find((s) => s.manifest !== undefined);
  }

  /** Writes a small JSON record next to a snapshot's manifest (e.g. a drill's verification). */
  async putRecord(
    bucket: string,
    key: string,
    record: unknown,
    kmsKeyId?: string,
    lock?: ObjectLockRetention,
  ): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: JSON.stringify(record, null, 2),
        ContentType: 'application/json',
        ChecksumAlgorithm: CHECKSUM_ALGORITHM,
        ...(kmsKeyId ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: kmsKeyId } : {}),
        ...lockHeaders(lock),
      }),
    );
  }

  /** The latest restore drill's verdict on a snapshot, or undefined if no drill recorded one. */
  async readVerification(bucket: string, snapshotKey: string): Promise<VerificationRecord | undefined> {
    const parsed = await this.readJson<VerificationRecord>(bucket, verificationKeyFor(snapshotKey));
    return typeof parsed?.passed === 'boolean' && typeof parsed.verifiedAt === 'string'
      ? (parsed as VerificationRecord)
      : undefined;
  }

  /** Deletes a snapshot and its manifest (S3 DeleteObjects ignores keys that are already gone). */
  async deleteSnapshot(bucket: string, key: string): Promise<void> {
    const res = await this.s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: {
          Objects: [{ Key: key }, { Key: manifestKeyFor(key) }, { Key: verificationKeyFor(key) }],
          Quiet: true,
        },
      }),
    );
    if (res.Errors && res.Errors.length > 0) {
      const first = res.Errors[0];
      throw new Error(`could not delete s3://${bucket}/${first.Key}: ${first.Code} ${first.Message}`);
    }
  }

  /**
   * The Object Lock retention on the current version of `key`, or undefined (no lock, no object).
   * S3 returns it in HeadObject only to a caller with s3:GetObjectRetention.
   */
  async retentionOf(bucket: string, key: string): Promise<ObjectLockRetention | undefined> {
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      if (!head.ObjectLockMode || !head.ObjectLockRetainUntilDate) return undefined;
      return { mode: head.ObjectLockMode, retainUntil: head.ObjectLockRetainUntilDate };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * Deletes every version (and delete marker) of a snapshot, its manifest and its verification
   * record, for real: on a versioned bucket a delete without a version id only adds a marker.
   * S3 refuses a version whose lock has not expired (AccessDenied), which is thrown.
   */
  async deleteSnapshotVersions(bucket: string, key: string): Promise<void> {
    for (const objectKey of [key, manifestKeyFor(key), verificationKeyFor(key)]) {
      for (const versionId of await this.versionsOf(bucket, objectKey)) {
        await this.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: objectKey, VersionId: versionId }));
      }
    }
  }

  /** The version ids of exactly `key` (versions and delete markers), oldest last as S3 lists them. */
  private async versionsOf(bucket: string, key: string): Promise<string[]> {
    const ids: string[] = [];
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectVersionsCommand({
          Bucket: bucket,
          Prefix: key,
          KeyMarker: keyMarker,
          VersionIdMarker: versionIdMarker,
        }),
      );
      for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) {
        if (v.Key === key && v.VersionId) ids.push(v.VersionId);
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      versionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
    } while (keyMarker);
    return ids;
  }
}

/**
 * Signs a part's headers but not its body. SigV4 otherwise hashes every part with SHA-256 on
 * the event loop, a third pass over the snapshot (vsnap hashes it whole, and state.bin inside
 * it). The part's integrity in transit is still checked by S3, through the CRC32 checksum
 * header each part states (CHECKSUM_ALGORITHM), which costs far less than SHA-256.
 */
function signHeadersOnly(command: UploadPartCommand): void {
  command.middlewareStack.add(
    (next) => (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      return next(args);
    },
    { step: 'build', name: 'vsnapUnsignedPayload' },
  );
}

/**
 * One multipart upload. Parts go up in order of `addPart` calls with at most `concurrency`
 * in flight, so memory stays at about (concurrency + 1) parts of the current size; parts grow
 * with the snapshot, within S3's 10,000 (part-sizes.ts).
 */
export class MultipartUpload {
  private readonly parts: CompletedPart[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: Error | undefined;
  private nextPartNumber = 1;
  private retried = 0;

  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
    readonly key: string,
    private readonly uploadId: string,
    private readonly concurrency: number,
  ) {}

  /**
   * Resolves once the part is queued; waits while `concurrency` parts are in flight.
   * `onSettled` runs when S3 is done with `body` (uploaded or failed), so it can be reused.
   */
  async addPart(body: Buffer, signal?: AbortSignal, onSettled?: () => void): Promise<void> {
    this.throwIfFailed();
    while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
    this.throwIfFailed();
    const partNumber = this.nextPartNumber++;
    const command = new UploadPartCommand({
      Bucket: this.bucket,
      Key: this.key,
      UploadId: this.uploadId,
      PartNumber: partNumber,
      Body: body,
      ChecksumAlgorithm: CHECKSUM_ALGORITHM,
    });
    signHeadersOnly(command);
    const upload = this.s3
      .send(command, { abortSignal: signal })
      .then((res) => {
        this.countRetries(res);
        // The upload was created with CRC32: S3 needs each part's checksum again at completion.
        this.parts.push({ PartNumber: partNumber, ETag: res.ETag, ChecksumCRC32: res.ChecksumCRC32 });
      })
      .catch((err: unknown) => {
        this.failure ??= err instanceof Error ? err : new Error(String(err));
      })
      .finally(() => {
        onSettled?.();
        this.inFlight.delete(upload);
      });
    this.inFlight.add(upload);
  }

  /** Requests of this upload the SDK retried before they succeeded. */
  get retries(): number {
    return this.retried;
  }

  private countRetries(res: { $metadata: { attempts?: number } }): void {
    this.retried += Math.max(0, (res.$metadata.attempts ?? 1) - 1);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  async complete(): Promise<void> {
    await Promise.all(this.inFlight);
    this.throwIfFailed();
    this.parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
    const res = await this.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        MultipartUpload: { Parts: this.parts },
      }),
    );
    this.countRetries(res);
  }

  /** Best effort: waits for parts in flight, then aborts so no incomplete upload accumulates. */
  async abort(): Promise<void> {
    await Promise.allSettled(this.inFlight);
    await this.s3.send(
      new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId }),
    );
  }
}
