// parseBackupInput: what `vsnap backup` and `temporal workflow start --input` may pass to the
// backup workflow. Bad input fails the workflow at once (non-retryable), naming every bad field.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { parseBackupInput } from '../../workflows/backup-input';

/** Asserts parseBackupInput(raw) throws a non-retryable InvalidInput failure mentioning each fragment. */
function assertInvalidInput(raw: unknown, ...fragments: string[]): ApplicationFailure {
  let thrown: unknown;
  try {
    parseBackupInput(raw);
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown instanceof ApplicationFailure, `expected an ApplicationFailure for ${JSON.stringify(raw)}`);
  assert.equal(thrown.type, 'InvalidInput');
  assert.equal(thrown.nonRetryable, true);
  assert.match(thrown.message, /^invalid backup input: /);
  for (const fragment of fragments)
    assert.ok(thrown.message.includes(fragment), `message names ${fragment}: ${thrown.message}`);
  return thrown;
}

describe('backup input: defaults', () => {
  it('accepts an empty object: every field falls back to the worker config', () => {
    assert.deepEqual(parseBackupInput({}), {});
  });

  it('accepts no input at all (undefined or null)', () => {
    assert.deepEqual(parseBackupInput(undefined), {});
    assert.deepEqual(parseBackupInput(null), {});
  });

  it('passes valid fields through unchanged', () => {
    assert.deepEqual(parseBackupInput({ cluster: 'prod', keep: 7, maxAgeDays: 1.5 }), {
      cluster: 'prod',
      keep: 7,
      maxAgeDays: 1.5,
    });
  });

  it('accepts keep=1 (only the newest snapshot is kept)', () => {
    assert.deepEqual(parseBackupInput({ keep: 1 }), { keep: 1 });
  });
});

describe('backup input: each bad field is a non-retryable InvalidInput naming the field', () => {
  it('rejects an unknown field and lists the allowed ones', () => {
    assertInvalidInput({ clsuter: 'prod' }, 'unknown field "clsuter"', 'allowed: cluster, keep, maxAgeDays');
  });

  it('rejects a cluster name with uppercase letters, spaces or the wrong type', () => {
    assertInvalidInput({ cluster: 'Prod' }, '"cluster"', '"Prod"');
    assertInvalidInput({ cluster: 'prod east' }, '"cluster"');
    assertInvalidInput({ cluster: '' }, '"cluster"');
    assertInvalidInput({ cluster: 42 }, '"cluster"', 'got 42');
  });

  it('rejects keep=0: the newest snapshot is always kept, so keep is at least 1', () => {
    assertInvalidInput({ keep: 0 }, '"keep" must be an integer >= 1', 'got 0');
  });

  it('rejects keep=-1', () => {
    assertInvalidInput({ keep: -1 }, '"keep"', 'got -1');
  });

  it('rejects keep=1.5 (not a whole number of snapshots)', () => {
    assertInvalidInput({ keep: 1.5 }, '"keep"', 'got 1.5');
  });

  it('rejects keep given as a string', () => {
    assertInvalidInput({ keep: '3' }, '"keep"', 'got "3"');
  });

  it('rejects maxAgeDays=0 and negative maxAgeDays', () => {
    assertInvalidInput({ maxAgeDays: 0 }, '"maxAgeDays" must be a number of days > 0', 'got 0');
    assertInvalidInput({ maxAgeDays: -3 }, '"maxAgeDays"', 'got -3');
  });

  it('rejects input that is not a JSON object', () => {
    assertInvalidInput('prod', 'must be a JSON object');
    assertInvalidInput(['prod'], 'must be a JSON object');
    assertInvalidInput(7, 'must be a JSON object');
  });
});

describe('backup input: several problems are reported together', () => {
  it('lists every bad field in one failure so the operator fixes them in one go', () => {
    assertInvalidInput(
      { cluster: 'PROD', keep: 0, maxAgeDays: 0, extra: true },
      'unknown field "extra"',
      '"cluster" must be a cluster name',
      '"keep" must be an integer >= 1',
      '"maxAgeDays" must be a number of days > 0',
    );
  });
});
