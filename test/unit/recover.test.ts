// The pure parts of `vsnap recover`: the input a person writes (every problem named, before any
// run starts), which KV mount a path lies in, the field comparison that reports names only, and
// the lines the CLI prints, which are made of names and versions and cannot carry a value.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { compareFields, type KvMount, splitKvPath } from '../../activities/vault/kv-secrets';
import { FailureType } from '../../workflows/names';
import { DEFAULT_RECOVER_APPROVAL_MINUTES, parseRecoverInput, type RecoverItem } from '../../workflows/recover-types';
import { formatRecoverItems } from '../../workflows/report-text';

/** Asserts parseRecoverInput(raw) fails as non-retryable InvalidInput whose message holds each fragment. */
function assertInvalid(raw: unknown, ...fragments: string[]): string {
  let thrown: unknown;
  try {
    parseRecoverInput(raw);
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown instanceof ApplicationFailure, `expected an ApplicationFailure for ${JSON.stringify(raw)}`);
  assert.equal(thrown.type, FailureType.InvalidInput);
  assert.equal(thrown.nonRetryable, true);
  assert.match(thrown.message, /^invalid recover input: /);
  for (const fragment of fragments) {
    assert.ok(thrown.message.includes(fragment), `the message names ${fragment}: ${thrown.message}`);
  }
  return thrown.message;
}

const db = { cluster: 'prod', path: 'secret/apps/db' };

describe('recover input: defaults', () => {
  it('needs only a cluster and a path: the latest snapshot, newest version with data, written in place', () => {
    assert.deepEqual(parseRecoverInput(db), {
      cluster: 'prod',
      path: 'secret/apps/db',
      snapshot: 'latest',
      dryRun: false,
      approvalTimeoutMinutes: DEFAULT_RECOVER_APPROVAL_MINUTES,
    });
    assert.equal(DEFAULT_RECOVER_APPROVAL_MINUTES, 60);
  });

  it('passes every valid field through', () => {
    const full = {
      cluster: 'prod',
      path: 'team/a/kv/apps/checkout/database',
      snapshot: 'vsnap/prod/2026-11-28T01-22-33.123Z.snap',
      version: 3,
      to: 'team/a/kv/recovered/checkout-database',
      dryRun: true,
      approvalTimeoutMinutes: 5,
    };
    assert.deepEqual(parseRecoverInput(full), full);
  });

  it('accepts a folder\'s keys ("/*"), with a folder to write them to', () => {
    const folder = parseRecoverInput({ cluster: 'prod', path: 'secret/apps/*', to: 'secret/recovered/apps/' });
    assert.equal(folder.path, 'secret/apps/*');
    assert.equal(folder.to, 'secret/recovered/apps/');
    assert.equal(parseRecoverInput({ cluster: 'prod', path: 'legacy/*' }).path, 'legacy/*');
  });
});

describe('recover input: each problem is a non-retryable InvalidInput naming the field', () => {
  it('refuses input that is not an object, with an example', () => {
    for (const raw of ['secret/apps/db', 42, [db]]) {
      assertInvalid(raw, '{"cluster":"prod","path":"secret/apps/db"}');
    }
  });

  it('requires the cluster and the path, and says what each is', () => {
    assertInvalid({}, '"cluster" is required', '"path" is required', 'secret/apps/*');
    assertInvalid({ path: 'secret/apps/db' }, '"cluster" is required');
    assertInvalid({ cluster: 'prod' }, '"path" is required');
    assertInvalid({ ...db, cluster: 'Prod' }, '"cluster" must be a cluster name', '"Prod"');
  });

  it('refuses a path without a mount segment, with a trailing slash, a leading slash or a bare "*"', () => {
    for (const path of ['db', 'secret', 'secret/', 'secret/apps/', '/secret/apps/db', '*', 'secret/apps/*/x', '']) {
      assertInvalid({ ...db, path }, '"path" must be a KV path with its mount', JSON.stringify(path));
    }
    assertInvalid({ ...db, path: 7 }, '"path" must be', 'got 7');
  });

  it('refuses "." and ".." segments, which would take a path out of its mount', () => {
    for (const path of ['secret/apps/../../sys/policies/acl/x', 'secret/./apps/db', 'secret/apps/..', '../secret/db']) {
      assertInvalid({ ...db, path }, '"path"', JSON.stringify(path));
    }
    assertInvalid({ ...db, to: 'secret/apps/../../legacy/db' }, '"to"', 'secret/apps/../../legacy/db');
    assertInvalid({ cluster: 'prod', path: 'secret/apps/*', to: 'secret/../legacy/' }, '"to"');
  });

  it('refuses a version that is not a whole number above 0', () => {
    assertInvalid({ ...db, version: 0 }, '"version" must be a KV v2 version number', 'got 0');
    assertInvalid({ ...db, version: -1 }, '"version"', 'got -1');
    assertInvalid({ ...db, version: '2' }, '"version"', 'got "2"');
    assertInvalid({ ...db, version: 1.5 }, '"version" must be a whole number');
  });

  it('refuses a version for a folder: each key has versions of its own', () => {
    assertInvalid({ cluster: 'prod', path: 'secret/apps/*', version: 2 }, '"version" needs a single path');
  });

  it('refuses a "to" of the wrong shape: a folder for a folder, a path for a path', () => {
    assertInvalid(
      { cluster: 'prod', path: 'secret/apps/*', to: 'secret/recovered/apps' },
      '"to" must be a folder with its mount, ending in "/"',
    );
    assertInvalid({ ...db, to: 'secret/recovered/' }, '"to" must be a KV path with its mount');
    assertInvalid({ ...db, to: 'db' }, '"to" must be a KV path with its mount', '"db"');
  });

  it('refuses a snapshot that is neither "latest" nor a .snap key, a non-boolean dryRun, a timeout of 0', () => {
    assertInvalid({ ...db, snapshot: 'newest' }, '"snapshot" must be "latest" or a snapshot key', '"newest"');
    assertInvalid({ ...db, dryRun: 'yes' }, '"dryRun" must be true or false');
    assertInvalid({ ...db, approvalTimeoutMinutes: 0 }, '"approvalTimeoutMinutes" must be minutes > 0');
  });

  it('refuses an unknown field and lists the allowed ones', () => {
    assertInvalid(
      { ...db, secret: 'x' },
      'unknown field "secret"',
      'allowed: cluster, path, snapshot, version, to, dryRun, approvalTimeoutMinutes',
    );
  });

  it('names every problem of one input at once', () => {
    const message = assertInvalid({ path: 'db', version: 0, snapshot: 'x', dryRun: 1 }, '"cluster"', '"path"');
    for (const field of ['"version"', '"snapshot"', '"dryRun"']) assert.ok(message.includes(field), message);
  });
});

describe('splitKvPath: which KV mount a full path lies in', () => {
  const mounts: KvMount[] = [
    { path: 'secret/', version: 2 },
    { path: 'legacy/', version: 1 },
    { path: 'team/', version: 1 },
    { path: 'team/a/kv/', version: 2 },
    { path: 'team/b/kv/', version: 2 },
  ];

  it('splits a path into its mount and the key within it', () => {
    assert.deepEqual(splitKvPath(mounts, 'secret/apps/db'), { mount: mounts[0], key: 'apps/db' });
    assert.deepEqual(splitKvPath(mounts, 'legacy/apps/billing/database'), {
      mount: mounts[1],
      key: 'apps/billing/database',
    });
  });

  it("the longest mount wins: a mount nested in another mount's path (team/a/kv/ inside team/)", () => {
    assert.deepEqual(splitKvPath(mounts, 'team/a/kv/apps/checkout/database'), {
      mount: mounts[3],
      key: 'apps/checkout/database',
    });
    assert.deepEqual(splitKvPath(mounts, 'team/b/kv/x'), { mount: mounts[4], key: 'x' });
    assert.deepEqual(splitKvPath(mounts, 'team/c/kv/x'), { mount: mounts[2], key: 'c/kv/x' });
    // The order sys/mounts lists them in does not matter.
    assert.deepEqual(splitKvPath([...mounts].reverse(), 'team/a/kv/x')?.mount, mounts[3]);
  });

  it('matches whole mount names only, and needs a key below the mount', () => {
    assert.equal(splitKvPath(mounts, 'secretive/apps/db'), undefined);
    assert.equal(splitKvPath(mounts, 'teams/a'), undefined);
    assert.equal(splitKvPath(mounts, 'secret/'), undefined);
    assert.equal(splitKvPath(mounts, 'cubbyhole/x'), undefined);
    assert.equal(splitKvPath([], 'secret/apps/db'), undefined);
  });
});

describe('compareFields: which fields differ, by name only', () => {
  it('names changed, restored (only in the snapshot) and dropped (only live) fields, sorted', () => {
    const snapshot = { username: 'app', password: 'old', port: '5432', zone: 'a' };
    const live = { username: 'app', password: 'new', host: 'db.internal', zone: 'b' };
    assert.deepEqual(compareFields(snapshot, live), {
      changed: ['password', 'zone'],
      added: ['port'],
      removed: ['host'],
    });
  });

  it('an absent live secret: every field is restored', () => {
    assert.deepEqual(compareFields({ b: '2', a: '1' }, undefined), { changed: [], added: ['a', 'b'], removed: [] });
  });

  it('identical data: nothing differs; non-string values compare by value', () => {
    const data = { a: '1', n: 2, list: [1, 2], nested: { x: true } };
    assert.deepEqual(compareFields(data, structuredClone(data)), { changed: [], added: [], removed: [] });
    assert.deepEqual(compareFields({ n: 2, list: [1, 2] }, { n: '2', list: [2, 1] }), {
      changed: ['list', 'n'],
      added: [],
      removed: [],
    });
  });

  it('returns names only: no value of either side appears in the result', () => {
    const result = JSON.stringify(compareFields({ password: 'snapshot-value-1' }, { password: 'live-value-2' }));
    assert.doesNotMatch(result, /snapshot-value-1|live-value-2/);
  });
});

describe('formatRecoverItems: what the CLI prints per secret', () => {
  const item = (changes: Partial<RecoverItem>): RecoverItem => ({
    path: 'secret/apps/db',
    to: 'secret/apps/db',
    kv: 2,
    snapshotVersion: 2,
    live: { state: 'present', version: 5, fields: ['host', 'password'] },
    fields: ['password', 'username'],
    changedFields: ['password'],
    addedFields: ['username'],
    removedFields: ['host'],
    identical: false,
    ...changes,
  });

  it('names where from and to, the versions, and the changed, restored and dropped fields', () => {
    assert.deepEqual(formatRecoverItems([item({})]), [
      '  secret/apps/db v2 -> secret/apps/db (live v5): to write; fields password, username; changed: password; restored: username; dropped: host',
    ]);
  });

  it('says "written as vN" after the write, and "identical" when there is nothing to write', () => {
    const [written] = formatRecoverItems([item({ written: true, newVersion: 6 })]);
    assert.match(written, /: written as v6; /);
    const [same] = formatRecoverItems([
      item({
        identical: true,
        changedFields: [],
        addedFields: [],
        removedFields: [],
        live: { state: 'present', version: 5, fields: ['password', 'username'] },
      }),
    ]);
    assert.equal(
      same,
      '  secret/apps/db v2 -> secret/apps/db (live v5): identical, nothing to write; fields password, username',
    );
  });

  it('shows an absent or deleted live secret, a KV v1 secret (no versions) and skipped sub-folders', () => {
    const lines = formatRecoverItems(
      [
        item({ live: { state: 'absent', version: 0, fields: [] }, removedFields: [], written: true, newVersion: 1 }),
        item({ to: 'secret/apps/db2', live: { state: 'deleted', version: 3, fields: [] }, removedFields: [] }),
        item({
          path: 'legacy/apps/db',
          to: 'legacy/apps/db',
          kv: 1,
          snapshotVersion: undefined,
          live: { state: 'present', version: 0, fields: ['password'] },
          written: true,
        }),
      ],
      ['secret/apps/sub/'],
    );
    assert.match(lines[0], /^ {2}secret\/apps\/db v2 -> secret\/apps\/db \(live: absent\): written as v1; /);
    assert.match(lines[1], /\(live v3 deleted\): to write; /);
    assert.match(lines[2], /^ {2}legacy\/apps\/db -> legacy\/apps\/db \(live v-\): written; fields /);
    assert.equal(lines[3], '  secret/apps/sub/ skipped: a sub-folder (recover it with its own path)');
  });

  it('cannot print a value: it reads names and versions only, even from an item that carries more', () => {
    const smuggled = { ...item({}), data: { password: 'hunter2-value' }, value: 'hunter2-value' } as RecoverItem;
    assert.doesNotMatch(formatRecoverItems([smuggled]).join('\n'), /hunter2/);
  });
});
