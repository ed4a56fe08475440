// How big each part of a snapshot's multipart upload is. S3 numbers parts 1 to 10,000 and lets
// them differ in size, so parts start at the configured size and double as the upload goes on:
// small and medium snapshots keep the configured size (and the memory it implies), and no
// snapshot up to S3's 5 TiB object limit runs out of part numbers.
//
// The schedule: the parts are cut into runs of equal length, run k holding parts of
// base x 2^k (at most MAX_PART_BYTES); there are as few runs as still add up to 5 TiB, and the
// first run takes the remainder of the division. With the default 8 MiB: 10 runs of 1000
// parts. A part is held in memory while it uploads, and the upload keeps (concurrency + 1) part
// buffers, so with the default concurrency of 4 the worker holds 5 parts of:
//
//   parts         part size   object size reached   part buffers (5 parts)
//   1-1000        8 MiB       7.8 GiB               40 MiB
//   1001-2000     16 MiB      23.4 GiB              80 MiB
//   2001-3000     32 MiB      54.7 GiB              160 MiB
//   3001-4000     64 MiB      117 GiB               320 MiB
//   4001-5000     128 MiB     242 GiB               640 MiB
//   5001-6000     256 MiB     492 GiB               1.25 GiB
//   6001-7000     512 MiB     992 GiB               2.5 GiB
//   7001-8000     1 GiB       1.9 TiB               5 GiB
//   8001-9000     2 GiB       3.9 TiB               10 GiB
//   9001-10000    4 GiB       7.8 TiB (S3: 5 TiB)   20 GiB
//
// Right after each doubling, the smaller buffers let go linger until garbage-collected: up to
// a third more for a moment (part-assembler.ts). Past 8 GiB the buffers grow with the
// snapshot: size the worker's memory limit from this table for the largest one it backs up.
// With VSNAP_PART_SIZE_MIB=5 there are 11 runs (910 parts, then 909 each, up to 4 GiB).
import { constants as bufferLimits } from 'node:buffer';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const TiB = 1024 ** 4;

/** S3's multipart limits: every part but the last is at least the minimum. */
export const S3_MIN_PART_BYTES = 5 * MiB;
export const S3_MAX_PART_BYTES = 5 * GiB;
export const S3_MAX_PARTS = 10_000;
export const S3_MAX_OBJECT_BYTES = 5 * TiB;

/** A part is one Buffer, and Node 20's largest Buffer is 4 GiB, below S3's 5 GiB. */
export const MAX_PART_BYTES = Math.min(S3_MAX_PART_BYTES, bufferLimits.MAX_LENGTH);

export class PartLimitExceededError extends Error {
  constructor(
    readonly maxParts: number,
    readonly capacityBytes: number,
  ) {
    super(
      `the snapshot is larger than the ${maxParts} parts of one multipart upload can hold ` +
        `(${capacityBytes} bytes with these part sizes; S3 stores at most ${S3_MAX_OBJECT_BYTES} bytes per object)`,
    );
    this.name = 'PartLimitExceededError';
  }
}

export interface PartSizePlan {
  /** Parts at the configured size, before the first doubling. */
  firstRun: number;
  /** Parts at each later size. */
  runLength: number;
  /** Bytes all the parts hold together. */
  capacityBytes: number;
  /** Bytes of part `partNumber` (1-based); throws PartLimitExceededError past the last part. */
  partBytes: (partNumber: number) => number;
}

/**
 * The part sizes of one upload. `maxParts` is S3's 10,000 except in tests, which lower it to
 * make a small snapshot grow its parts. When not even a doubling at every part reaches 5 TiB
 * (a limit far below S3's), every part doubles: the plan then holds as much as it can.
 */
export function planPartSizes(basePartBytes: number, maxParts: number = S3_MAX_PARTS): PartSizePlan {
  if (!Number.isInteger(maxParts) || maxParts < 1 || maxParts > S3_MAX_PARTS) {
    throw new RangeError(`maxParts must be an integer from 1 to ${S3_MAX_PARTS}, got ${maxParts}`);
  }
  if (!Number.isInteger(basePartBytes) || basePartBytes < S3_MIN_PART_BYTES || basePartBytes > MAX_PART_BYTES) {
    throw new RangeError(`basePartBytes must be an integer from ${S3_MIN_PART_BYTES} to ${MAX_PART_BYTES}`);
  }
  for (let runs = 1; runs < maxParts; runs++) {
    const plan = equalRuns(basePartBytes, maxParts, runs);
    if (plan.capacityBytes >= S3_MAX_OBJECT_BYTES) return plan;
  }
  return equalRuns(basePartBytes, maxParts, maxParts);
}

function equalRuns(basePartBytes: number, maxParts: number, runs: number): PartSizePlan {
  const runLength = Math.floor(maxParts / runs);
  const firstRun = maxParts - (runs - 1) * runLength;
  const sizeOfRun = (run: number) => Math.min(basePartBytes * 2 ** run, MAX_PART_BYTES);
  let capacityBytes = firstRun * basePartBytes;
  for (let run = 1; run < runs; run++) capacityBytes += runLength * sizeOfRun(run);
  return {
    firstRun,
    runLength,
    capacityBytes,
    partBytes: (partNumber) => {
      if (partNumber > maxParts) throw new PartLimitExceededError(maxParts, capacityBytes);
      if (partNumber <= firstRun) return basePartBytes;
      return sizeOfRun(1 + Math.floor((partNumber - firstRun - 1) / runLength));
    },
  };
}
