// The state.bin reader: varint-length-delimited protobuf StorageEntry messages, built here
// byte by byte, fed in chunks that split entries, varints and keys anywhere.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { keyPrefix, StateFormatError, StateKeyCounter, StorageEntryReader } from '../../activities/archive/state-keys';
import { SnapshotArchiveValidator } from '../../activities/archive/snapshot-archive';
import { buildSnapshotArchive } from './helpers/snapshot-archive-builder';

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let v = value;
  while (v >= 128) {
    bytes.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

const tag = (field: number, wireType: number) => varint(field * 8 + wireType);
const lenField = (field: number, bytes: Buffer) => Buffer.concat([tag(field, 2), varint(bytes.length), bytes]);
const keyField = (key: string) => lenField(1, Buffer.from(key, 'utf8'));
const valueField = (value: Buffer) => lenField(2, value);
/** One length-delimited message, as Vault's protoio DelimitedWriter writes it. */
const delimited = (...fields: Buffer[]) => {
  const body = Buffer.concat(fields);
  return Buffer.concat([varint(body.length), body]);
};
const entry = (key: string, value: Buffer = Buffer.from('ciphertext')) => delimited(keyField(key), valueField(value));

function readKeys(chunks: Buffer[]): string[] {
  const keys: string[] = [];
  const reader = new StorageEntryReader((k) => keys.push(k));
  for (const c of chunks) reader.write(c);
  reader.end();
  return keys;
}

function chunksOf(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return chunks;
}

function assertFormatError(fn: () => void, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StateFormatError, `expected StateFormatError, got ${String(err)}`);
    assert.match(err.message, /^state\.bin is not a sequence of length-delimited StorageEntry messages: /);
    assert.match(err.message, pattern);
    return true;
  });
}

// A value longer than 127 bytes makes both the entry length and the value length 2-byte varints.
const STATE = Buffer.concat([
  entry('core/mounts'),
  entry('logical/9d1b6c4e-0000-4000-8000-000000000001/apps/web', Buffer.alloc(300, 7)),
  entry('sys/policy/snapshot-agent', Buffer.alloc(0)),
  entry('logical/9d1b6c4e-0000-4000-8000-000000000001/infra/db'),
]);
const STATE_KEYS = [
  'core/mounts',
  'logical/9d1b6c4e-0000-4000-8000-000000000001/apps/web',
  'sys/policy/snapshot-agent',
  'logical/9d1b6c4e-0000-4000-8000-000000000001/infra/db',
];

describe('StorageEntryReader', () => {
  it('reads each entry key in order from one write', () => {
    assert.deepEqual(readKeys([STATE]), STATE_KEYS);
  });

  it('reads the same keys when every entry, varint and key is split across chunks', () => {
    for (let cut = 1; cut < STATE.length; cut++) {
      assert.deepEqual(readKeys([STATE.subarray(0, cut), STATE.subarray(cut)]), STATE_KEYS, `split at byte ${cut}`);
    }
    assert.deepEqual(readKeys(chunksOf(STATE, 1)), STATE_KEYS, 'one byte at a time');
    assert.deepEqual(readKeys(chunksOf(STATE, 7)), STATE_KEYS, 'seven bytes at a time');
  });

  it('skips unknown fields of every wire type, before and after the key', () => {
    const withExtras = delimited(
      Buffer.concat([tag(3, 0), varint(1_000_000)]), // varint
      Buffer.concat([tag(4, 1), Buffer.alloc(8, 0xff)]), // fixed64
      keyField('core/keyring'),
      Buffer.concat([tag(5, 5), Buffer.alloc(4, 0xff)]), // fixed32
      lenField(6, Buffer.from('unknown bytes, maybe a newer field')),
      valueField(Buffer.from('v')),
      lenField(1000, Buffer.alloc(200, 1)), // a field number that needs a 2-byte tag
    );
    const bytes = Buffer.concat([withExtras, entry('core/seal-config')]);

    assert.deepEqual(readKeys([bytes]), ['core/keyring', 'core/seal-config']);
    assert.deepEqual(readKeys(chunksOf(bytes, 3)), ['core/keyring', 'core/seal-config']);
  });

  it('reads an entry whose fields come value first, and an empty entry as key ""', () => {
    const bytes = Buffer.concat([delimited(valueField(Buffer.from('v')), keyField('sys/token/id')), delimited()]);

    assert.deepEqual(readKeys([bytes]), ['sys/token/id', '']);
  });

  it('refuses a state.bin that ends inside an entry, naming where the entry starts', () => {
    const cut = STATE.length - 5;
    const lastEntryStart = STATE.length - entry(STATE_KEYS[3]).length;

    assertFormatError(
      () => readKeys([STATE.subarray(0, cut)]),
      new RegExp(`entry that starts at byte ${lastEntryStart}`),
    );
  });

  it('refuses a field that runs past the end of its entry', () => {
    const body = Buffer.concat([tag(1, 2), varint(50), Buffer.from('short')]);
    const bytes = Buffer.concat([varint(body.length), body]);

    assertFormatError(() => readKeys([bytes]), /a field of 50 bytes runs past the end of its entry/);
  });

  it('refuses a key field that is not length-delimited, and groups', () => {
    assertFormatError(() => readKeys([delimited(tag(1, 0), varint(5))]), /the key field has wire type 0/);
    assertFormatError(() => readKeys([delimited(tag(7, 3))]), /field 7 has unsupported wire type 3/);
  });

  it('refuses a varint longer than 10 bytes', () => {
    assertFormatError(() => readKeys([Buffer.alloc(11, 0x80)]), /a varint is longer than 10 bytes/);
  });
});

describe('StateKeyCounter', () => {
  it('counts keys by their first two path segments, largest count first, then by name', () => {
    const counter = new StateKeyCounter();
    for (const c of chunksOf(Buffer.concat([STATE, entry('core/auth'), entry('core/mounts')]), 5)) counter.write(c);

    assert.deepEqual(counter.result(), {
      totalKeys: 6,
      byPrefix: [
        { prefix: 'core/mounts', count: 2 },
        { prefix: 'logical/9d1b6c4e-0000-4000-8000-000000000001', count: 2 },
        { prefix: 'core/auth', count: 1 },
        { prefix: 'sys/policy', count: 1 },
      ],
    });
  });

  it('never throws from write (it runs in a stream handler); the format error comes from result()', () => {
    const counter = new StateKeyCounter();
    counter.write(Buffer.alloc(11, 0x80));
    counter.write(STATE);

    assert.throws(() => counter.result(), StateFormatError);
  });

  it('keyPrefix keeps the first segments as they are', () => {
    assert.equal(keyPrefix('logical/uuid/apps/web'), 'logical/uuid');
    assert.equal(keyPrefix('core/mounts'), 'core/mounts');
    assert.equal(keyPrefix('core'), 'core');
    assert.equal(keyPrefix('sys/token/accessor/x', 1), 'sys');
  });
});

describe('SnapshotArchiveValidator onStateChunk', () => {
  it('passes exactly the bytes of state.bin, in order, while validating', async () => {
    const archive = await buildSnapshotArchive({ stateSize: 300 * 1024 });
    const seen: Buffer[] = [];
    const validator = new SnapshotArchiveValidator({ onStateChunk: (chunk) => seen.push(Buffer.from(chunk)) });

    for (const c of chunksOf(archive.gzip, 4096)) {
      if (!validator.input.write(c)) await validator.drained();
    }
    validator.input.end();
    await validator.facts;

    assert.ok(seen.length > 1, 'state.bin arrives in several chunks');
    assert.ok(Buffer.concat(seen).equals(archive.state));
  });
});
