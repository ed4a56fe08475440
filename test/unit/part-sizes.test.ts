// The part sizes of a snapshot upload: the configured size for small snapshots, then doubling,
// so that no snapshot up to S3's 5 TiB needs more than S3's 10,000 parts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { PartAssembler } from '../../activities/storage/part-assembler';
import {
  MAX_PART_BYTES,
  PartLimitExceededError,
  planPartSizes,
  S3_MAX_OBJECT_BYTES,
  S3_MAX_PART_BYTES,
  S3_MAX_PARTS,
  S3_MIN_PART_BYTES,
} from '../../activities/storage/part-sizes';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/** Every part's size, in order, for an object of `objectBytes`: what the upload would send. */
function partsFor(basePartBytes: number, objectBytes: number, maxParts?: number): number[] {
  const plan = planPartSizes(basePartBytes, maxParts);
  const sizes: number[] = [];
  let left = objectBytes;
  while (left > 0) {
    const size = Math.min(plan.partBytes(sizes.length + 1), left);
    sizes.push(size);
    left -= size;
  }
  return sizes;
}

// Every part size the configuration allows at the start (worker/config.ts): 5 MiB up to the
// memory budget's 512 MiB, plus a few beyond it.
const BASE_SIZES_MIB = [5, 6, 7, 8, 10, 12, 16, 24, 32, 50, 64, 100, 128, 200, 256, 333, 512, 1024, 4096];

describe('part sizes', () => {
  test('S3 limits as AWS documents them; no part larger than Node can allocate as one Buffer', () => {
    assert.equal(S3_MIN_PART_BYTES, 5 * MiB);
    assert.equal(S3_MAX_PART_BYTES, 5 * GiB);
    assert.equal(S3_MAX_PARTS, 10_000);
    assert.equal(S3_MAX_OBJECT_BYTES, 5 * 1024 * GiB);
    assert.ok(MAX_PART_BYTES <= S3_MAX_PART_BYTES);
    assert.ok(MAX_PART_BYTES >= 4 * GiB, 'parts of 4 GiB at least');
  });

  test('a 5 TiB snapshot fits in 10,000 parts, whatever the configured part size', () => {
    for (const mib of BASE_SIZES_MIB) {
      const plan = planPartSizes(mib * MiB);
      assert.ok(plan.capacityBytes >= S3_MAX_OBJECT_BYTES, `${mib} MiB: ${plan.capacityBytes} bytes`);
      let total = 0;
      for (let n = 1; n <= S3_MAX_PARTS; n++) total += plan.partBytes(n);
      assert.equal(total, plan.capacityBytes, `${mib} MiB: capacity is the sum of the parts`);
      assert.ok(partsFor(mib * MiB, S3_MAX_OBJECT_BYTES).length <= S3_MAX_PARTS);
    }
  });

  test('every part is within S3 bounds, and sizes never shrink', () => {
    for (const mib of BASE_SIZES_MIB) {
      const plan = planPartSizes(mib * MiB);
      let previous = 0;
      for (let n = 1; n <= S3_MAX_PARTS; n++) {
        const size = plan.partBytes(n);
        assert.ok(size >= S3_MIN_PART_BYTES && size <= MAX_PART_BYTES, `${mib} MiB, part ${n}: ${size}`);
        assert.ok(size >= previous, `${mib} MiB, part ${n} is smaller than part ${n - 1}`);
        previous = size;
      }
    }
  });

  test('small and medium snapshots keep the configured size: 1000 parts of 8 MiB by default', () => {
    const plan = planPartSizes(8 * MiB);
    assert.equal(plan.firstRun, 1000);
    assert.equal(plan.runLength, 1000);
    const sevenGiB = partsFor(8 * MiB, 7 * GiB);
    assert.equal(sevenGiB.length, 896);
    assert.ok(sevenGiB.every((s) => s === 8 * MiB));
    assert.deepEqual(new Set(partsFor(5 * MiB, 800 * 5 * MiB)), new Set([5 * MiB]), '800 parts of 5 MiB');
    for (const mib of BASE_SIZES_MIB) {
      assert.ok(planPartSizes(mib * MiB).firstRun >= 900, `${mib} MiB keeps its size for 900 parts or more`);
    }
  });

  test('the default schedule doubles every 1000 parts: 16 MiB from part 1001, 4 GiB for the last 1000', () => {
    const plan = planPartSizes(8 * MiB);
    assert.equal(plan.partBytes(1001), 16 * MiB);
    assert.equal(plan.partBytes(2000), 16 * MiB);
    assert.equal(plan.partBytes(2001), 32 * MiB);
    assert.equal(plan.partBytes(9001), 4 * GiB);
    assert.equal(plan.partBytes(10_000), 4 * GiB);
    // The 78 GiB that fixed 8 MiB parts topped out at now takes 3,375 parts of 8 to 64 MiB.
    const old78GiB = partsFor(8 * MiB, 10_000 * 8 * MiB);
    assert.equal(old78GiB.length, 3375);
    assert.equal(Math.max(...old78GiB), 64 * MiB);
  });

  test('a part past the limit is refused with PartLimitExceededError, not sent for S3 to reject', () => {
    const plan = planPartSizes(8 * MiB);
    assert.throws(
      () => plan.partBytes(S3_MAX_PARTS + 1),
      (err: unknown) => err instanceof PartLimitExceededError && /larger than the 10000 parts/.test(err.message),
    );
  });

  test('with a small limit (as tests inject) sizes double at every part and hold what they can', () => {
    const plan = planPartSizes(5 * MiB, 4);
    assert.deepEqual(
      [1, 2, 3, 4].map((n) => plan.partBytes(n) / MiB),
      [5, 10, 20, 40],
    );
    assert.equal(plan.capacityBytes, 75 * MiB);
    assert.deepEqual(
      partsFor(5 * MiB, 14 * MiB, 4).map((s) => s / MiB),
      [5, 9],
    );
    assert.throws(() => partsFor(5 * MiB, 76 * MiB, 4), PartLimitExceededError);
  });

  test('refuses limits and sizes outside what S3 allows', () => {
    assert.throws(() => planPartSizes(8 * MiB, 0), RangeError);
    assert.throws(() => planPartSizes(8 * MiB, 10_001), RangeError);
    assert.throws(() => planPartSizes(4 * MiB), RangeError);
    assert.throws(() => planPartSizes(MAX_PART_BYTES + 1), RangeError);
  });
});

describe('the part assembler on a growing schedule', () => {
  test('cuts parts of the planned sizes, bytes in order', async () => {
    const sizes = (n: number) => 1000 * 2 ** (n - 1);
    const data = randomBytes(10_000);
    const parts: Buffer[] = [];
    const assembler = new PartAssembler(sizes, 2, (part, release) => {
      parts.push(Buffer.from(part));
      release();
      return Promise.resolve();
    });
    for (let offset = 0; offset < data.length; offset += 777)
      await assembler.write(data.subarray(offset, offset + 777));
    await assembler.end();

    assert.deepEqual(
      parts.map((p) => p.length),
      [1000, 2000, 4000, 3000],
    );
    assert.deepEqual(Buffer.concat(parts), data);
  });

  test('lets smaller buffers go as parts grow, and reuses only buffers of the current size', async () => {
    // Sizes above Node's 4 KiB pool, so each buffer is an allocation of its own.
    const sizes = (n: number) => (n <= 3 ? 8000 : 16_000);
    const buffers = new Set<ArrayBufferLike>();
    let releasePrevious: () => void = () => undefined;
    // Each part's buffer comes back when the next part arrives: two held at a time, the limit.
    const assembler = new PartAssembler(sizes, 2, (part, release) => {
      buffers.add(part.buffer);
      releasePrevious();
      releasePrevious = release;
      return Promise.resolve();
    });
    await assembler.write(Buffer.alloc(3 * 8000 + 2 * 16_000));
    await assembler.end();

    assert.deepEqual(
      [...buffers].map((b) => b.byteLength),
      [8000, 8000, 16_000, 16_000],
      'part 3 reused an 8000-byte buffer; parts 4 and 5 got new ones of 16000 bytes',
    );
  });
});
