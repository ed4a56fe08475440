import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { PartAssembler } from '../../activities/storage/part-assembler';

test('cuts a stream into full parts and a shorter last one, bytes in order', async () => {
  const data = randomBytes(10_000);
  const parts: Buffer[] = [];
  const assembler = new PartAssembler(3000, 2, (part, release) => {
    parts.push(Buffer.from(part)); // a copy: the buffer is reused after release
    release();
    return Promise.resolve();
  });
  for (let offset = 0; offset < data.length; offset += 777) await assembler.write(data.subarray(offset, offset + 777));
  await assembler.end();
  assert.deepEqual(
    parts.map((p) => p.length),
    [3000, 3000, 3000, 1000],
  );
  assert.deepEqual(Buffer.concat(parts), data);
});

test('never has more than `buffers` part buffers, and waits for a release before reusing one', async () => {
  const held: Array<() => void> = [];
  const seen = new Set<ArrayBufferLike>();
  // Parts of 5000 bytes: smaller buffers would come from Node's shared pool and share an ArrayBuffer.
  const assembler = new PartAssembler(5000, 2, (part, release) => {
    seen.add(part.buffer);
    held.push(release);
    return Promise.resolve();
  });
  await assembler.write(Buffer.alloc(10_000)); // two parts, both held
  let third = false;
  const writing = assembler.write(Buffer.alloc(5000)).then(() => (third = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(third, false, 'the third part must wait for a free buffer');
  held.shift()!();
  await writing;
  assert.equal(third, true);
  assert.equal(seen.size, 2, 'only two distinct buffers were ever used');
});

test('a part with nothing in it is never emitted', async () => {
  let emitted = 0;
  const assembler = new PartAssembler(100, 1, (_part, release) => {
    emitted++;
    release();
    return Promise.resolve();
  });
  await assembler.write(Buffer.alloc(100));
  await assembler.end();
  assert.equal(emitted, 1);
});
