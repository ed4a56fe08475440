// Cuts a stream into multipart-upload parts, copying it into a few part-sized buffers that are
// reused for the whole upload. Allocating a fresh buffer per part (Buffer.concat) made the
// garbage collector trail about 60 MiB of dead buffers behind a snapshot stream; with reuse,
// the worker's peak memory stays at about (concurrency + 1) parts of the current size.
//
// Parts may grow as the upload goes on (part-sizes.ts). A buffer of an earlier, smaller size is
// let go when it comes back instead of being reused, and the count of buffers never exceeds
// `buffers`, so no more than `buffers` parts of the new size are live. The ones let go are
// garbage until V8's next major collection: measured with 3 buffers, the 16 to 32 MiB step
// briefly held 128 MiB instead of 96, the 32 to 64 MiB step 256 instead of 192.
export type PartHandler = (part: Buffer, release: () => void) => Promise<void>;

/** A fixed part size, or the size of each part by its number (1-based). */
export type PartSizes = number | ((partNumber: number) => number);

export class PartAssembler {
  private readonly free: Buffer[] = [];
  private allocated = 0;
  private readonly waiting: Array<() => void> = [];
  private current: Buffer | undefined;
  private filled = 0;
  private partNumber = 0;

  /**
   * @param partSizes bytes per part (the last one may be shorter)
   * @param buffers   how many part buffers may exist; the handler must `release` each part's
   *                  buffer once nothing reads it any more (its upload settled)
   */
  constructor(
    private readonly partSizes: PartSizes,
    private readonly buffers: number,
    private readonly onPart: PartHandler,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      this.current ??= await this.acquire(this.sizeOf(this.partNumber + 1));
      const copied = chunk.copy(this.current, this.filled, offset);
      this.filled += copied;
      offset += copied;
      if (this.filled === this.current.length) await this.emit();
    }
  }

  /** Emits the last, shorter part, if any. */
  async end(): Promise<void> {
    if (this.filled > 0) await this.emit();
  }

  private sizeOf(partNumber: number): number {
    return typeof this.partSizes === 'number' ? this.partSizes : this.partSizes(partNumber);
  }

  private async emit(): Promise<void> {
    const buffer = this.current!;
    const part = buffer.subarray(0, this.filled);
    this.current = undefined;
    this.filled = 0;
    this.partNumber++;
    let released = false;
    await this.onPart(part, () => {
      if (released) return;
      released = true;
      this.release(buffer);
    });
  }

  private async acquire(size: number): Promise<Buffer> {
    for (;;) {
      const buffer = this.free.pop();
      if (buffer?.length === size) return buffer;
      if (buffer) {
        this.allocated--; // sized for earlier parts: let the garbage collector have it
        continue;
      }
      if (this.allocated < this.buffers) {
        this.allocated++;
        return Buffer.allocUnsafe(size);
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private release(buffer: Buffer): void {
    this.free.push(buffer);
    this.waiting.shift()?.();
  }
}
