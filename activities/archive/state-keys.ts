// The keys inside a Raft snapshot's state.bin, read as it streams. Vault's and OpenBao's Raft
// FSM writes its snapshot as a sequence of varint-length-delimited protobuf `StorageEntry`
// messages (field 1 key: string, field 2 value: bytes), one per storage key (checked against
// an OpenBao 2.7 snapshot). Keys are plaintext paths such as `logical/<mount uuid>/...`;
// values are barrier-encrypted, so only keys and their counts can be reported.
//
// The parser is a byte-level state machine: it never holds more than one key (bounded by
// MAX_KEY_BYTES) and skips values without copying them, so memory does not grow with the
// snapshot nor with the size of one entry.

export class StateFormatError extends Error {
  constructor(reason: string, offset: number) {
    super(`state.bin is not a sequence of length-delimited StorageEntry messages: ${reason} (at byte ${offset})`);
    this.name = 'StateFormatError';
  }
}

const KEY_FIELD = 1;
const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;
// Storage keys are paths; anything this long means we are not reading keys.
const MAX_KEY_BYTES = 64 * 1024;
const MAX_VARINT_BYTES = 10;

type Phase =
  /** Between entries: reading an entry's length prefix. */
  | 'entryLength'
  /** Inside an entry: reading a field's tag. */
  | 'tag'
  /** Reading the length of a length-delimited field. */
  | 'fieldLength'
  /** Reading (and discarding) a varint field's value. */
  | 'varintValue'
  /** Inside a field's bytes: the key is kept, anything else skipped. */
  | 'fieldBytes';

/**
 * Calls `onKey` with each entry's key, in order. Feed it state.bin with `write` in chunks of
 * any size, then call `end`. Both throw a StateFormatError on malformed input.
 */
export class StorageEntryReader {
  private phase: Phase = 'entryLength';
  /** Bytes of state.bin consumed so far, for error messages. */
  private offset = 0;
  private entryStart = 0;
  private entryRemaining = 0;
  // The varint being read, accumulated with multiplication: lengths can exceed 32 bits.
  private varint = 0;
  private varintScale = 1;
  private varintBytes = 0;
  private fieldIsKey = false;
  private fieldRemaining = 0;
  private keyParts: Buffer[] = [];
  private key = '';

  constructor(private readonly onKey: (key: string) => void) {}

  write(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.phase === 'fieldBytes') {
        const n = Math.min(this.fieldRemaining, chunk.length - i);
        // A copy, so a key does not pin the (possibly large) chunk it arrived in.
        if (this.fieldIsKey) this.keyParts.push(Buffer.from(chunk.subarray(i, i + n)));
        i += n;
        this.consume(n);
        this.fieldRemaining -= n;
        if (this.fieldRemaining === 0) this.endField();
        continue;
      }
      if (this.phase === 'entryLength' && this.varintBytes === 0) this.entryStart = this.offset;
      const byte = chunk[i++];
      this.consume(1);
      if (this.readVarintByte(byte)) this.onVarint(this.takeVarint());
      else if (this.phase !== 'entryLength' && this.entryRemaining === 0) {
        this.fail('a varint runs past the end of its entry');
      }
    }
  }

  /** Call once all of state.bin was written: it must end on an entry boundary. */
  end(): void {
    if (this.phase !== 'entryLength' || this.varintBytes > 0) {
      this.fail(`state.bin ends inside the entry that starts at byte ${this.entryStart}`);
    }
  }

  private consume(n: number): void {
    this.offset += n;
    if (this.phase !== 'entryLength') this.entryRemaining -= n;
  }

  /** Adds one byte to the current varint; true when it was the varint's last byte. */
  private readVarintByte(byte: number): boolean {
    this.varint += (byte & 0x7f) * this.varintScale;
    this.varintScale *= 128;
    this.varintBytes++;
    if (this.varintBytes > MAX_VARINT_BYTES) this.fail('a varint is longer than 10 bytes');
    return (byte & 0x80) === 0;
  }

  private takeVarint(): number {
    const value = this.varint;
    if (value > Number.MAX_SAFE_INTEGER) this.fail('a varint is larger than 2^53');
    this.varint = 0;
    this.varintScale = 1;
    this.varintBytes = 0;
    return value;
  }

  private onVarint(value: number): void {
    switch (this.phase) {
      case 'entryLength':
        this.entryRemaining = value;
        this.key = '';
        this.phase = 'tag';
        if (value === 0) this.endEntry();
        return;
      case 'tag':
        this.onTag(value);
        return;
      case 'fieldLength':
        this.startBytes(value);
        return;
      case 'varintValue':
        this.endField();
        return;
      case 'fieldBytes':
        return; // not reached: bytes are not varints
    }
  }

  private onTag(tag: number): void {
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (field === 0) this.fail('a field has number 0');
    if (field === KEY_FIELD && wireType !== WIRE_LEN) this.fail(`the key field has wire type ${wireType}, not 2`);
    this.fieldIsKey = field === KEY_FIELD;
    switch (wireType) {
      case WIRE_VARINT:
        if (this.entryRemaining === 0) this.fail('a varint field has no value');
        this.phase = 'varintValue';
        return;
      case WIRE_LEN:
        if (this.entryRemaining === 0) this.fail('a length-delimited field has no length');
        this.phase = 'fieldLength';
        return;
      case WIRE_FIXED64:
        this.startBytes(8);
        return;
      case WIRE_FIXED32:
        this.startBytes(4);
        return;
      default:
        // 3 and 4 are proto2 groups, which StorageEntry never uses; 6 and 7 do not exist.
        this.fail(`field ${field} has unsupported wire type ${wireType}`);
    }
  }

  private startBytes(length: number): void {
    if (length > this.entryRemaining) {
      this.fail(`a field of ${length} bytes runs past the end of its entry (${this.entryRemaining} bytes left)`);
    }
    if (this.fieldIsKey && length > MAX_KEY_BYTES) this.fail(`a key of ${length} bytes exceeds ${MAX_KEY_BYTES}`);
    this.fieldRemaining = length;
    this.keyParts = [];
    this.phase = 'fieldBytes';
    if (length === 0) this.endField();
  }

  private endField(): void {
    if (this.phase === 'fieldBytes' && this.fieldIsKey) {
      // Protobuf semantics: a repeated scalar field keeps its last value.
      this.key = Buffer.concat(this.keyParts).toString('utf8');
      this.keyParts = [];
    }
    this.phase = 'tag';
    if (this.entryRemaining === 0) this.endEntry();
  }

  private endEntry(): void {
    this.phase = 'entryLength';
    this.onKey(this.key);
  }

  private fail(reason: string): never {
    throw new StateFormatError(reason, this.offset);
  }
}

export interface PrefixCount {
  prefix: string;
  count: number;
}

export interface StateKeyCounts {
  totalKeys: number;
  /** Sorted by count, largest first, then by prefix. */
  byPrefix: PrefixCount[];
}

/** The first `depth` segments of a storage key: `logical/<uuid>`, `core/mounts`, `sys/policy`. */
export function keyPrefix(key: string, depth = 2): string {
  return key.split('/').slice(0, depth).join('/');
}

/**
 * Counts state.bin's keys by prefix. `write` never throws, so it can sit in a stream's data
 * handler (the archive validator's `onStateChunk`); a format error surfaces from `result()`.
 */
export class StateKeyCounter {
  private readonly counts = new Map<string, number>();
  private readonly reader: StorageEntryReader;
  private totalKeys = 0;
  private error: StateFormatError | undefined;

  constructor(private readonly depth = 2) {
    this.reader = new StorageEntryReader((key) => {
      const prefix = keyPrefix(key, this.depth);
      this.counts.set(prefix, (this.counts.get(prefix) ?? 0) + 1);
      this.totalKeys++;
    });
  }

  write(chunk: Buffer): void {
    if (this.error) return;
    try {
      this.reader.write(chunk);
    } catch (err) {
      this.error = asFormatError(err);
    }
  }

  /** Call after all of state.bin was written; throws the first format error, if any. */
  result(): StateKeyCounts {
    if (!this.error) {
      try {
        this.reader.end();
      } catch (err) {
        this.error = asFormatError(err);
      }
    }
    if (this.error) throw this.error;
    const byPrefix = [...this.counts]
      .map(([prefix, count]) => ({ prefix, count }))
      .sort((a, b) => b.count - a.count || (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
    return { totalKeys: this.totalKeys, byPrefix };
  }
}

function asFormatError(err: unknown): StateFormatError {
  if (err instanceof StateFormatError) return err;
  throw err;
}
