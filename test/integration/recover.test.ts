// `vsnap recover` on the real stack, as an operator runs it: secrets are written into prod, prod
// is backed up once, then each test changes or deletes a secret in prod and brings it back out of
// that snapshot (restored inside the worker into a throwaway server). Prod is protected, so a
// write waits for an approval. Values never leave the worker: not in the run's history (decoded
// with the codec keys), the worker's logs or the CLI's output.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type WorkflowHandle, WorkflowNotFoundError } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { VaultRequestError } from '../../activities/vault/vault-errors';
import type { VaultHttp } from '../../activities/vault/vault-http';
import type { ClusterConfig } from '../../worker/config';
import { FailureType } from '../../workflows/names';
import type { recover, RecoverProgress } from '../../workflows/recover';
import { vsnap } from '../helpers/cli';
import { failureOf, start, waitForProgress } from '../helpers/runs';
import {
  activeProdNode,
  baoInit,
  isolatedCluster,
  stackVault,
  startTestWorker,
  type TestWorker,
} from '../helpers/stack';

// Prod's standbys answer reads too, a moment behind the active node: the test talks to the active
// node, so what it reads right after a write is that write.
let prodVault: VaultHttp;
const root = baoInit('prod').rootToken;
const selfApproved = ['--self-approve', '--approver', 'tester'];
type SecretData = Record<string, string>;

/** Every value this file writes: none may appear in a history, a log line or the CLI's output. */
const values: string[] = [];
function secretValue(): string {
  const value = randomBytes(18).toString('base64url');
  values.push(value);
  return value;
}
function secretData(...fields: string[]): SecretData {
  return Object.fromEntries(fields.map((f) => [f, secretValue()]));
}

/** The values found in `text`, plain or base64: must be none. */
function leakedValues(text: string): string[] {
  return values.filter((v) => text.includes(v) || text.includes(Buffer.from(v).toString('base64')));
}

// Prod's KV, with its root token, as an operator sees it.
const [v2Data, v2Metadata] = ['data', 'metadata'].map(
  (kind) => (path: string) => `/${path.replace(/^secret\//, `secret/${kind}/`)}`,
);

async function writeV2(path: string, data: SecretData): Promise<number> {
  const res = await prodVault.request<{ data: { version: number } }>('write', {
    method: 'PUT',
    path: v2Data(path),
    json: { data },
    token: root,
  });
  return res.data.version;
}

/** The live secret's newest version and data, or undefined when it does not exist. */
async function readV2(path: string): Promise<{ version: number; data: SecretData } | undefined> {
  return prodVault
    .request<{ data: { data: SecretData; metadata: { version: number } } }>('read', {
      method: 'GET',
      path: v2Data(path),
      token: root,
    })
    .then((r) => ({ version: r.data.metadata.version, data: r.data.data }))
    .catch((err: unknown) => {
      if (err instanceof VaultRequestError && err.status === 404) return undefined;
      throw err;
    });
}

async function metadataOf(path: string): Promise<{ current_version: number; updated_time: string }> {
  const res = await prodVault.request<{ data: { current_version: number; updated_time: string } }>('metadata', {
    method: 'GET',
    path: v2Metadata(path),
    token: root,
  });
  return { current_version: res.data.current_version, updated_time: res.data.updated_time };
}

/** `bao kv metadata delete`: every version and the metadata, gone. */
async function deleteAllVersions(path: string): Promise<void> {
  await prodVault.request('metadata delete', { method: 'DELETE', path: v2Metadata(path), token: root });
}

async function writeV1(path: string, data: SecretData): Promise<void> {
  await prodVault.request('write', { method: 'PUT', path: `/${path}`, json: data, token: root });
}

async function readV1(path: string): Promise<SecretData> {
  return (await prodVault.request<{ data: SecretData }>('read', { method: 'GET', path: `/${path}`, token: root })).data;
}

describe('vsnap recover: single secrets out of a snapshot into the protected prod (real CLI, real worker)', () => {
  // Prod under an S3 prefix of its own: "latest" is the snapshot this file takes.
  const prod = isolatedCluster('prod');
  // The same prod and snapshots, logged in with a token whose policy also covers a KV v1 path.
  const tokenEnv = 'VSNAP_TEST_RECOVER_KV1_TOKEN';
  const prodKv1: ClusterConfig = { ...prod, name: 'prod-kv1', auth: { method: 'token', tokenEnv } };
  const unique = `recover-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const path = {
    deleted: `secret/apps/${unique}`,
    changed: `secret/apps/${unique}-changed`,
    dryRun: `secret/apps/${unique}-dry`,
    source: `secret/apps/${unique}-source`,
    copy: `secret/apps/${unique}-copy`,
    folder: `secret/apps/${unique}-folder/`,
    v1: `legacy/${unique}`,
    v1Writable: `legacy/${unique}-writable`,
  };
  const kv1Policy = `test-${unique}-legacy`;
  /** What the snapshot holds, path by path (KV v2: by version). */
  const snapshot: Record<string, SecretData> = {};
  const deletedVersions: SecretData[] = [];
  let kv1Token: string;
  let worker: TestWorker;
  let cli: (args: string[]) => ReturnType<typeof vsnap>;
  const handleOf = (workflowId: string) => worker.temporal.client.workflow.getHandle(workflowId);

  before(async () => {
    prodVault = stackVault('prod', { address: await activeProdNode(), timeoutMs: 60_000 });
    for (let i = 0; i < 3; i++) {
      const data = secretData('username', 'password');
      deletedVersions.push(data);
      await writeV2(path.deleted, data);
    }
    for (const [key, fields] of [
      [path.changed, ['token']],
      [path.dryRun, ['alpha', 'beta', 'gamma']],
      [path.source, ['user', 'pass']],
      [`${path.folder}one`, ['api_key']],
      [`${path.folder}two`, ['username', 'password']],
      [`${path.folder}sub/three`, ['token']],
    ] as const) {
      snapshot[key] = secretData(...fields);
      await writeV2(key, snapshot[key]);
    }
    for (const key of [path.v1, path.v1Writable]) {
      snapshot[key] = secretData('username', 'password');
      await writeV1(key, snapshot[key]);
    }
    await prodVault.request('write policy', {
      method: 'PUT',
      path: `/sys/policies/acl/${kv1Policy}`,
      json: { policy: `path "${path.v1Writable}" {\n  capabilities = ["create", "update", "read"]\n}\n` },
      token: root,
    });
    const created = await prodVault.request<{ auth: { client_token: string } }>('token create', {
      method: 'POST',
      path: '/auth/token/create',
      json: { policies: [kv1Policy], no_default_policy: true, ttl: '1h' },
      token: root,
    });
    kv1Token = created.auth.client_token;
    worker = await startTestWorker({ clusters: [prod, prodKv1], env: { [tokenEnv]: kv1Token } });
    cli = (args) => vsnap([...args, '--task-queue', worker.taskQueue]);
    const backup = await cli(['backup', '--cluster', 'prod', '--wait', '--json']);
    assert.equal(backup.code, 0, backup.stderr);
  });

  after(async () => {
    await worker?.stop();
    const v2Paths = [path.deleted, path.changed, path.dryRun, path.source, path.copy];
    v2Paths.push(...['one', 'two', 'sub/three'].map((k) => `${path.folder}${k}`));
    for (const p of v2Paths) await deleteAllVersions(p).catch(() => undefined);
    for (const p of [path.v1, path.v1Writable]) {
      await prodVault.request('delete', { method: 'DELETE', path: `/${p}`, token: root }).catch(() => undefined);
    }
    await prodVault
      .request('revoke', { method: 'POST', path: '/auth/token/revoke', json: { token: kv1Token }, token: root })
      .catch(() => undefined);
    await prodVault
      .request('delete policy', { method: 'DELETE', path: `/sys/policies/acl/${kv1Policy}`, token: root })
      .catch(() => undefined);
  });

  /** Every payload of a run's history decoded with the codec keys, as text: what a reader with the keys sees. */
  async function decodedHistory(handle: WorkflowHandle): Promise<string> {
    const history = await handle.fetchHistory();
    let payloads: Payload[] = [];
    const collect = (node: unknown): void => {
      if (!node || typeof node !== 'object' || node instanceof Uint8Array) return;
      if ('metadata' in node && 'data' in node && node.data instanceof Uint8Array) payloads.push(node as Payload);
      else for (const child of Object.values(node)) collect(child);
    };
    collect(history);
    for (const codec of [...worker.temporal.client.options.loadedDataConverter.payloadCodecs].reverse()) {
      payloads = await codec.decode(payloads);
    }
    return [JSON.stringify(history), ...payloads.map((p) => Buffer.from(p.data ?? []).toString('utf8'))].join('\n');
  }

  test('a deleted secret comes back from version 2 as a new version 1, and no value is in history, logs or output', async () => {
    await deleteAllVersions(path.deleted);
    assert.equal(await readV2(path.deleted), undefined, 'every version is gone from prod');

    const workflowId = `recover-test-${unique}`;
    const res = await cli([
      ...['recover', '--cluster', 'prod', '--path', path.deleted, '--version', '2'],
      ...['--id', workflowId, ...selfApproved],
    ]);
    assert.equal(res.code, 0, res.stderr);
    const line = `${path.deleted} v2 -> ${path.deleted} (live: absent)`;
    assert.ok(res.stderr.includes(`${line}: to write; fields password, username`), res.stderr);
    assert.match(res.stdout, /wrote 1 of 1 secrets/);
    assert.ok(res.stdout.includes(`${line}: written as v1; fields password, username`), res.stdout);
    assert.match(res.stdout, /approved by tester .*\(self-approved/);

    assert.deepEqual(await readV2(path.deleted), { version: 1, data: deletedVersions[1] });

    const history = await decodedHistory(handleOf(workflowId));
    assert.ok(history.includes(`"newVersion":1`), 'the decoded history holds the report (the decoding worked)');
    assert.deepEqual(leakedValues(history), [], 'no value in the decoded history');
    assert.deepEqual(leakedValues(res.stdout + res.stderr), [], 'no value in the CLI output');
    assert.deepEqual(leakedValues(worker.logs.join('\n')), [], 'no value in the worker logs');
  });

  test('a secret changed between the read and the approved write: refused, nothing written', async () => {
    await writeV2(path.changed, secretData('token'));
    const handle = await start<typeof recover>(worker, 'recover', { cluster: 'prod', path: path.changed });
    const waiting = await waitForProgress<RecoverProgress>(handle, (p) => p.step === 'awaiting-approval', 120_000);
    assert.deepEqual(
      waiting.items?.map((i) => [i.live.version, i.snapshotVersion, i.changedFields]),
      [[2, 1, ['token']]],
    );

    const theirs = secretData('token');
    assert.equal(await writeV2(path.changed, theirs), 3);
    const approved = await cli(['approve', handle.workflowId, '--approver', 'tester']);
    assert.equal(approved.code, 0, approved.stderr);

    const failure = await failureOf(handle);
    assert.equal(failure.type, FailureType.SecretChangedSincePlan);
    assert.ok(failure.message.includes(`${path.changed} (planned: present, version 2; now: present, version 3)`));
    assert.match(failure.message, /nothing was written/);
    assert.deepEqual(await readV2(path.changed), { version: 3, data: theirs }, 'exactly the version written meanwhile');
    assert.equal((await metadataOf(path.changed)).current_version, 3, 'no version after it');
  });

  test('--dry-run names the changed, restored and dropped fields and writes nothing', async () => {
    const live: SecretData = { alpha: secretValue(), beta: snapshot[path.dryRun].beta, delta: secretValue() };
    await writeV2(path.dryRun, live);
    const before = await metadataOf(path.dryRun);

    const res = await cli(['recover', '--cluster', 'prod', '--path', path.dryRun, '--dry-run']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /dry run, would write 1 of 1 secrets/);
    assert.ok(
      res.stdout.includes(
        `${path.dryRun} v1 -> ${path.dryRun} (live v2): to write; fields alpha, beta, gamma; ` +
          'changed: alpha; restored: gamma; dropped: delta',
      ),
      res.stdout,
    );
    assert.doesNotMatch(res.stdout, /approved by/, 'a dry run asks nobody');
    assert.deepEqual(leakedValues(res.stdout + res.stderr), []);
    assert.deepEqual(await metadataOf(path.dryRun), before, 'live metadata unchanged');
    assert.deepEqual((await readV2(path.dryRun))?.data, live);
  });

  test('--to writes a copy and leaves the original alone; a folder recovers its keys and skips its sub-folder', async () => {
    const sourceNow = { ...snapshot[path.source], pass: secretValue() };
    await writeV2(path.source, sourceNow);
    await deleteAllVersions(`${path.folder}one`);
    await writeV2(`${path.folder}two`, secretData('username', 'password'));
    const subBefore = await metadataOf(`${path.folder}sub/three`);

    // Both at once: the reads overlap, the writes take prod's lock in turn.
    const [copied, folder] = await Promise.all([
      cli(['recover', '--cluster', 'prod', '--path', path.source, '--to', path.copy, ...selfApproved]),
      cli(['recover', '--cluster', 'prod', '--path', `${path.folder}*`, ...selfApproved]),
    ]);

    assert.equal(copied.code, 0, copied.stderr);
    assert.ok(copied.stdout.includes(`${path.source} v1 -> ${path.copy} (live: absent): written as v1`), copied.stdout);
    assert.deepEqual(await readV2(path.copy), { version: 1, data: snapshot[path.source] });
    assert.deepEqual(await readV2(path.source), { version: 2, data: sourceNow }, 'the original is untouched');

    assert.equal(folder.code, 0, folder.stderr);
    assert.match(folder.stdout, /wrote 2 of 2 secrets/);
    assert.ok(folder.stdout.includes(`${path.folder}one v1 -> ${path.folder}one (live: absent): written as v1`));
    assert.ok(folder.stdout.includes(`${path.folder}two v1 -> ${path.folder}two (live v2): written as v3`));
    assert.ok(folder.stdout.includes(`${path.folder}sub/ skipped: a sub-folder`), folder.stdout);
    assert.deepEqual(await readV2(`${path.folder}one`), { version: 1, data: snapshot[`${path.folder}one`] });
    assert.deepEqual(await readV2(`${path.folder}two`), { version: 3, data: snapshot[`${path.folder}two`] });
    assert.deepEqual(await metadataOf(`${path.folder}sub/three`), subBefore, 'the sub-folder is untouched');
    assert.deepEqual(leakedValues(copied.stdout + copied.stderr + folder.stdout + folder.stderr), []);
  });

  test("KV v1: refused where vsnap's policy does not reach, naming the policy to grant; written where it does", async () => {
    const v1Now = secretData('username', 'password');
    await writeV1(path.v1, v1Now);
    const writableNow = { username: snapshot[path.v1Writable].username, password: secretValue() };
    await writeV1(path.v1Writable, writableNow);

    const [refused, written] = await Promise.all([
      cli(['recover', '--cluster', 'prod', '--path', path.v1, ...selfApproved]),
      cli(['recover', '--cluster', 'prod-kv1', '--path', path.v1Writable, ...selfApproved]),
    ]);

    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /failed: VaultPermissionDenied: /);
    assert.match(refused.stderr, /grant its role the policy in deploy\/vault\/recover-policy\.hcl/);
    assert.deepEqual(await readV1(path.v1), v1Now, 'the live secret is unchanged');

    assert.equal(written.code, 0, written.stderr);
    assert.ok(
      written.stdout.includes(
        `${path.v1Writable} -> ${path.v1Writable} (live v-): written; fields password, username; changed: password`,
      ),
      written.stdout,
    );
    assert.deepEqual(await readV1(path.v1Writable), snapshot[path.v1Writable]);
    assert.deepEqual(leakedValues(refused.stdout + refused.stderr + written.stdout + written.stderr), []);
  });

  test('bad input is refused before any run starts, naming the field', async () => {
    const cases: [args: string[], message: RegExp][] = [
      [['--path', path.deleted, '--version', '0'], /"version" must be a KV v2 version number \(1, 2, \.\.\.\), got 0/],
      [['--path', `${path.folder}*`, '--version', '2'], /"version" needs a single path, not a folder/],
      [['--path', 'db'], /"path" must be a KV path with its mount, .*got "db"/],
    ];
    for (const [args, message] of cases) {
      const workflowId = `recover-bad-input-${unique}-${randomBytes(3).toString('hex')}`;
      const res = await cli(['recover', '--cluster', 'prod', ...args, '--self-approve', '--id', workflowId]);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stdout}${res.stderr}`);
      assert.match(res.stderr, /^vsnap recover: invalid recover input: /);
      assert.match(res.stderr, message);
      await assert.rejects(handleOf(workflowId).describe(), WorkflowNotFoundError, 'no run was started');
    }
  });
});
