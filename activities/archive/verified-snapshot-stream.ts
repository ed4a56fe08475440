// A pass-through that checks a stored snapshot while it streams toward Vault: SHA-256 and size
// against the manifest, and the archive structure. It holds back the last chunk until both
// checks pass, so a corrupt or truncated object ends as an aborted, incomplete request body
// that Vault discards, never as a complete snapshot Vault would apply.
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { type ArchiveFacts, SnapshotArchiveValidator } from './snapshot-archive';

export class ChecksumMismatchError extends Error {
  constructor(message: string) {
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
  private readonly validator = new SnapshotArchiveValidator();
  private held: Buffer | undefined;
  bytes = 0;
  facts: ArchiveFacts | undefined;

  constructor(
    private readonly expected: ExpectedObject,
    private readonly onProgress?: (bytes: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onProgress?.(this.bytes);
    const previous = this.held;
    this.held = chunk;
    const forward = () => {
      if (previous) this.push(previous);
      done();
    };
    if (this.validator.input.write(chunk)) forward();
    else this.validator.drained().then(forward, (err: unknown) => done(err as Error));
  }

  override _flush(done: TransformCallback): void {
    this.validator.input.end();
    this.validator.facts.then(
      (facts) => {
        const sha256 = this.hash.digest('hex');
        if (this.bytes !== this.expected.size || sha256 !== this.expected.sha256) {
          done(
            new ChecksumMismatchError(
              `s3 object ${this.expected.key} is ${this.bytes} bytes with SHA-256 ${sha256}; ` +
                `the manifest recorded ${this.expected.size} bytes with ${this.expected.sha256}. ` +
                `The object was altered or damaged after the backup: restore another snapshot`,
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
