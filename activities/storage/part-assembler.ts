// Cuts a stream into multipart-upload parts, copying it into a few part-sized buffers that are
// reused for the whole upload. Allocating a fresh buffer per part (Buffer.concat) made the
// garbage collector trail about 60 MiB of dead buffers behind a snapshot stream; with reuse,
// the worker's peak memory stays at about (concurrency + 1) parts whatever the snapshot size.
export type PartHandler = (part: Buffer, release: () => void) => Promise<void>;

export class PartAssembler {
  private readonly free: Buffer[] = [];
  private allocated = 0;
  private readonly waiting: Array<(buffer: Buffer) => void> = [];
  private current: Buffer | undefined;
  private filled = 0;

  /**
   * @param partSize bytes per part (the last one may be shorter)
   * @param buffers  how many part buffers may exist; the handler must `release` each part's
   *                 buffer once nothing reads it any more (its upload settled)
   */
  constructor(
    private readonly partSize: number,
    private readonly buffers: number,
    private readonly onPart: PartHandler,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      this.current ??= await this.acquire();
      const copied = chunk.copy(this.current, this.filled, offset);
      this.filled += copied;
      offset += copied;
      if (this.filled === this.partSize) await this.emit();
    }
  }

  /** Emits the last, shorter part, if any. */
  async end(): Promise<void> {
    if (this.filled > 0) await this.emit();
  }

  private async emit(): Promise<void> {
    const buffer = this.current!;
    const part = buffer.subarray(0, this.filled);
    this.current = undefined;
    this.filled = 0;
    let released = false;
    await this.onPart(part, () => {
      if (released) return;
      released = true;
      this.release(buffer);
    });
  }

  private acquire(): Promise<Buffer> {
    const buffer = this.free.pop();
    if (buffer) return Promise.resolve(buffer);
    if (this.allocated < this.buffers) {
      this.allocated++;
      return Promise.resolve(Buffer.allocUnsafe(this.partSize));
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(buffer: Buffer): void {
    const next = this.waiting.shift();
    if (next) next(buffer);
    else this.free.push(buffer);
  }
}
