// A pass-through that checks a stored snapshot while it streams toward Vault: SHA-256 and size
// against the manifest, and the archive structure. It holds back the last batch (up to 1 MiB) until both
// checks pass, so a corrupt or truncated object ends as an aborted, incomplete request body
// that Vault discards, never as a complete snapshot Vault would apply.
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ChunkBatcher } from './chunk-batcher';
import { type ArchiveFacts, SnapshotArchiveValidator, type SnapshotArchiveValidatorOptions } from './snapshot-archive';

export class ChecksumMismatchError extends Error {
  /** What was read, when the stream got to the end: for messages that name both sides. */
  constructor(
    message: string,
    readonly actual?: { sha256: string; size: number },
  ) {
    super(message);
    this.name = 'ChecksumMismatchError';
  }
}

export interface ExpectedObject {
  sha256: string;
  size: number;
  key: string;
}

export class VerifiedSnapshotStream extends Transform {
  private readonly hash = createHash('sha256');
  private readonly validator: SnapshotArchiveValidator;
  private readonly batches = new ChunkBatcher();
  private held: Buffer | undefined;
  bytes = 0;
  facts: ArchiveFacts | undefined;

  constructor(
    private readonly expected: ExpectedObject,
    private readonly onProgress?: (bytes: number) => void,
    archiveOptions: SnapshotArchiveValidatorOptions = {},
  ) {
    super();
    this.validator = new SnapshotArchiveValidator(archiveOptions);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const batch = this.batches.push(chunk);
    if (!batch) {
      done();
      return;
    }
    this.check(batch).then(() => done(), done);
  }

  /** Checks a batch and forwards the one held before it; this one is held in turn. */
  private async check(batch: Buffer): Promise<void> {
    this.hash.update(batch);
    this.bytes += batch.length;
    this.onProgress?.(this.bytes);
    if (!this.validator.input.write(batch)) await this.validator.drained();
    if (this.held) this.push(this.held);
    this.held = batch;
  }

  override _flush(done: TransformCallback): void {
    const rest = this.batches.flush();
    (rest ? this.check(rest) : Promise.resolve())
      .then(() => {
        this.validator.input.end();
        return this.validator.facts;
      })
      .then(
        (facts) => {
          const sha256 = this.hash.digest('hex');
          if (this.bytes !== this.expected.size || sha256 !== this.expected.sha256) {
            done(
              new ChecksumMismatchError(
                `s3 object ${this.expected.key} is ${this.bytes} bytes with SHA-256 ${sha256}; ` +
                  `the manifest recorded ${this.expected.size} bytes with ${this.expected.sha256}. ` +
                  `The object was altered or damaged after the backup: restore another snapshot`,
                { sha256, size: this.bytes },
              ),
            );
            return;
          }
          this.facts = facts;
          if (this.held) this.push(this.held);
          done();
        },
        (err: unknown) => done(err as Error),
      );
  }
}
