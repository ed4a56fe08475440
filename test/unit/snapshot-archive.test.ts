// SnapshotArchiveValidator: every snapshot streams through it before its upload completes.
// Each case builds a real archive (tar-stream + gzip) and breaks one thing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ArchiveInvalidError, SNAPSHOT_ENTRIES } from '../../activities/archive/snapshot-archive';
import {
  buildSnapshotArchive,
  DEFAULT_STATE_SIZE,
  flipBit,
  runValidator,
  validateBytes,
} from './helpers/snapshot-archive-builder';

/** Asserts the validator rejects with an ArchiveInvalidError whose message matches `pattern`. */
async function assertInvalid(bytes: Buffer, pattern: RegExp): Promise<ArchiveInvalidError> {
  let caught: unknown;
  await assert.rejects(validateBytes(bytes), (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof ArchiveInvalidError, `expected ArchiveInvalidError, got ${String(caught)}`);
  assert.match(caught.message, /^snapshot archive is invalid: /);
  assert.match(caught.message, pattern);
  return caught;
}

describe('SnapshotArchiveValidator: a well-formed snapshot', () => {
  it('reports the Raft index, term, state size and SHA-256 digests from the archive', async () => {
    const archive = await buildSnapshotArchive({ raftIndex: 35, raftTerm: 3 });

    const facts = await validateBytes(archive.gzip);

    assert.deepEqual(facts, {
      raftIndex: 35,
      raftTerm: 3,
      raftVersion: 1,
      configurationIndex: 1,
      stateSize: DEFAULT_STATE_SIZE,
      metaSha256: archive.metaSha256,
      stateSha256: archive.stateSha256,
    });
  });

  it('gives the same facts whatever the write sizes (1 KiB + 1 byte chunks, or one write)', async () => {
    const archive = await buildSnapshotArchive({ raftIndex: 9001, raftTerm: 12 });

    const small = await validateBytes(archive.gzip, 1025);
    const whole = await validateBytes(archive.gzip, archive.gzip.length);

    assert.deepEqual(small, whole);
    assert.equal(small.raftIndex, 9001);
    assert.equal(small.raftTerm, 12);
  });

  it('accepts an empty state.bin whose meta.json says Size 0', async () => {
    const archive = await buildSnapshotArchive({ stateSize: 0 });

    const facts = await validateBytes(archive.gzip);

    assert.equal(facts.stateSize, 0);
  });

  it('expects exactly the four entries Vault writes', () => {
    assert.deepEqual([...SNAPSHOT_ENTRIES].sort(), ['SHA256SUMS', 'SHA256SUMS.sealed', 'meta.json', 'state.bin']);
  });
});

describe('SnapshotArchiveValidator: a damaged download is rejected', () => {
  it('rejects a snapshot whose last 100 bytes are missing as truncated', async () => {
    const { gzip } = await buildSnapshotArchive();

    await assertInvalid(gzip.subarray(0, gzip.length - 100), /truncated/);
  });

  it('rejects a snapshot cut to half its length as truncated', async () => {
    const { gzip } = await buildSnapshotArchive();

    await assertInvalid(gzip.subarray(0, Math.floor(gzip.length / 2)), /truncated/);
  });

  it('rejects a snapshot with a single bit flipped in the middle of the gzip data', async () => {
    const { gzip } = await buildSnapshotArchive();

    await assertInvalid(flipBit(gzip, Math.floor(gzip.length / 2), 3), /corrupt|SHA-256/);
  });

  it('rejects a snapshot with a bit flipped in the gzip CRC trailer', async () => {
    const { gzip } = await buildSnapshotArchive();

    await assertInvalid(flipBit(gzip, gzip.length - 6), /corrupt/);
  });

  it('rejects bytes that are not gzip at all (a JSON error body saved as .snap)', async () => {
    const body = Buffer.from('{"errors":["permission denied"]}\n'.repeat(100));

    await assertInvalid(body, /gzip data is corrupt/);
  });

  it('rejects a complete gzip whose tar stops in the middle of state.bin as truncated', async () => {
    const { gzip } = await buildSnapshotArchive({ truncateTarAt: 100 * 1024 });

    await assertInvalid(gzip, /truncated/);
  });

  it('rejects an empty download as truncated', async () => {
    await assertInvalid(Buffer.alloc(0), /truncated/);
  });
});

describe('SnapshotArchiveValidator: the tar must hold exactly the snapshot entries', () => {
  it('rejects an archive without SHA256SUMS.sealed and names the entries it found and expected', async () => {
    const { gzip } = await buildSnapshotArchive({ omit: ['SHA256SUMS.sealed'] });

    const err = await assertInvalid(gzip, /entries are \[SHA256SUMS, meta\.json, state\.bin\]/);
    assert.match(err.message, /expected exactly \[SHA256SUMS, SHA256SUMS\.sealed, meta\.json, state\.bin\]/);
  });

  it('rejects an archive without state.bin', async () => {
    const { gzip } = await buildSnapshotArchive({ omit: ['state.bin'] });

    await assertInvalid(gzip, /entries are \[SHA256SUMS, SHA256SUMS\.sealed, meta\.json\]/);
  });

  it('rejects an archive with an extra entry and names it', async () => {
    const { gzip } = await buildSnapshotArchive({ extraEntries: [{ name: 'notes.txt', content: 'hello' }] });

    await assertInvalid(gzip, /entries are \[.*notes\.txt.*\], expected exactly/);
  });

  it('rejects an archive in which an entry appears twice', async () => {
    const { gzip } = await buildSnapshotArchive({ extraEntries: [{ name: 'meta.json', content: '{}' }] });

    await assertInvalid(gzip, /entry meta\.json appears twice/);
  });
});

describe('SnapshotArchiveValidator: checksums and meta.json must agree with the content', () => {
  it('rejects a state.bin whose SHA-256 differs from SHA256SUMS and names state.bin', async () => {
    const archive = await buildSnapshotArchive({ corruptChecksumOf: 'state.bin' });

    const err = await assertInvalid(archive.gzip, /state\.bin has SHA-256 [0-9a-f]{64} but SHA256SUMS records/);
    assert.ok(err.message.includes(archive.stateSha256), 'the message shows the actual digest');
  });

  it('rejects a meta.json whose SHA-256 differs from SHA256SUMS and names meta.json', async () => {
    const { gzip } = await buildSnapshotArchive({ corruptChecksumOf: 'meta.json' });

    await assertInvalid(gzip, /meta\.json has SHA-256/);
  });

  it('rejects a SHA256SUMS without a line for state.bin', async () => {
    const archive = await buildSnapshotArchive();
    const { gzip } = await buildSnapshotArchive({ sha256sums: `${archive.metaSha256}  meta.json\n` });

    await assertInvalid(gzip, /SHA256SUMS has no line for state\.bin/);
  });

  it('rejects a malformed SHA256SUMS line', async () => {
    const { gzip } = await buildSnapshotArchive({ sha256sums: 'not-a-digest  meta.json\n' });

    await assertInvalid(gzip, /SHA256SUMS has a malformed line/);
  });

  it('rejects a state.bin whose size differs from meta.json Size', async () => {
    const { gzip } = await buildSnapshotArchive({ metaSize: DEFAULT_STATE_SIZE + 1 });

    await assertInvalid(
      gzip,
      new RegExp(`state\\.bin is ${DEFAULT_STATE_SIZE} bytes but meta\\.json says ${DEFAULT_STATE_SIZE + 1}`),
    );
  });

  it('rejects a meta.json that is not JSON', async () => {
    const { gzip } = await buildSnapshotArchive({ metaJson: 'Index=35' });

    await assertInvalid(gzip, /meta\.json is not JSON/);
  });

  it('rejects a meta.json without numeric Index, Term and Version', async () => {
    const { gzip } = await buildSnapshotArchive({ metaJson: '{"Version":1,"Index":"35","Term":3}' });

    await assertInvalid(gzip, /meta\.json lacks numeric Index, Term and Version/);
  });

  it('rejects an empty SHA256SUMS.sealed', async () => {
    const { gzip } = await buildSnapshotArchive({ sealed: Buffer.alloc(0) });

    await assertInvalid(gzip, /SHA256SUMS\.sealed is empty/);
  });
});

describe('SnapshotArchiveValidator: a damaged snapshot fails the activity, never the worker process', () => {
  // The worker feeds the validator chunk by chunk as the snapshot arrives from Vault. When the
  // archive breaks mid-entry, the error must surface only as the rejection of `facts`: an
  // 'error' event nobody listens to becomes an uncaught exception, which kills the worker.
  it('rejects truncated, bit-flipped, cut-tar and duplicate-entry archives without an uncaught exception', async () => {
    const { gzip } = await buildSnapshotArchive();
    const duplicate = await buildSnapshotArchive({ extraEntries: [{ name: 'meta.json', content: '{}' }] });
    const cutTar = await buildSnapshotArchive({ truncateTarAt: 100 * 1024 });
    const cases: [string, Buffer][] = [
      ['last 100 bytes cut', gzip.subarray(0, gzip.length - 100)],
      ['cut to half', gzip.subarray(0, Math.floor(gzip.length / 2))],
      ['bit flipped in the middle', flipBit(gzip, Math.floor(gzip.length / 2), 3)],
      ['meta.json twice', duplicate.gzip],
      ['tar cut inside state.bin', cutTar.gzip],
    ];
    const escaped: string[] = [];
    for (const [name, bytes] of cases) {
      const run = await runValidator(bytes);
      assert.ok(run.error instanceof ArchiveInvalidError, `${name}: facts must reject with ArchiveInvalidError`);
      for (const err of run.uncaught) escaped.push(`${name}: ${String(err)}`);
    }
    assert.deepEqual(escaped, [], 'errors escaped the validator as uncaught exceptions (a worker would crash)');
  });
});
