// How vsnap reaches a Vault that is not simply "https with a trusted name": a certificate that
// names a DNS name while vsnap dials an IP (tlsServerName), a listener that requires client
// certificates (mutual TLS), and a cluster configured in a namespace. Real OpenBao servers
// only; the scratch ones on ports 19300-19311, the namespace on the stack's prod.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { vaultFor } from '../../activities/deps';
import { type ArchiveFacts, SnapshotArchiveValidator } from '../../activities/archive/snapshot-archive';
import { VaultRequestError } from '../../activities/vault/vault-errors';
import { VaultHttp } from '../../activities/vault/vault-http';
import {
  ensurePrivateCa,
  type IssuedCertificate,
  issueCertificate,
  type PrivateCa,
} from '../../scripts/stack/private-ca';
import { type ClusterConfig, loadConfig } from '../../worker/config';
import { startScratchCluster, type ScratchCluster } from '../helpers/scratch-bao';
import { activeProdNode, prodCluster, stackEnv, stackVault } from '../helpers/stack';
import type { TestCertificate } from '../helpers/test-ca';

const SERVER_NAME = 'vault.scratch.internal';

/** A server certificate from `ca` that covers `SERVER_NAME` only: not 127.0.0.1, the address dialled. */
function dnsOnlyCertificate(ca: PrivateCa): TestCertificate {
  const server = issueCertificate(ca, 'server', { dns: [SERVER_NAME] }, 'server', 2);
  return { caPem: ca.caPem, caFile: ca.caFile, ...server };
}

/** Loads a cluster the way the worker does: a JSON config file through loadConfig. */
function clusterFromConfigFile(dir: string, fields: Record<string, unknown>): ClusterConfig {
  const file = join(dir, `vsnap-${randomUUID().slice(0, 8)}.json`);
  const cluster = { name: 'scratch', auth: { method: 'token' }, storage: { bucket: 'unused' }, ...fields };
  writeFileSync(file, JSON.stringify({ clusters: [cluster] }));
  return loadConfig({ VSNAP_CONFIG: file }).clusters[0];
}

/** Reads a snapshot stream to its end through the archive validator: a whole gzip'd tar of a Raft snapshot. */
async function readWholeSnapshot(stream: Readable): Promise<{ bytes: number; facts: ArchiveFacts }> {
  const validator = new SnapshotArchiveValidator();
  let bytes = 0;
  let head: Buffer | undefined;
  const counted = async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      head ??= chunk.subarray(0, 2);
      bytes += chunk.length;
      yield chunk;
    }
  };
  await pipeline(stream, counted, validator.input);
  const facts = await validator.facts;
  assert.deepEqual([...(head ?? [])], [0x1f, 0x8b], 'the snapshot starts with the gzip magic bytes');
  return { bytes, facts };
}

/** Asserts that `call` fails with a VaultRequestError whose message matches `pattern`. */
async function assertRefused(call: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(call, (err: unknown) => {
    assert.ok(err instanceof VaultRequestError, `expected a VaultRequestError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

/** An authenticated read: the token's own lookup, which answers only with a valid token. */
async function tokenPolicies(vault: VaultHttp, token: string): Promise<string[]> {
  const self = await vault.request<{ data: { policies: string[] } }>('token lookup', {
    method: 'GET',
    path: '/auth/token/lookup-self',
    token,
  });
  return self.data.policies;
}

describe('a Vault whose certificate names a DNS name, dialled by IP address (tlsServerName)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsnap-tls-server-name-'));
  let certificate: TestCertificate;
  let vault: ScratchCluster;

  before(async () => {
    certificate = dnsOnlyCertificate(ensurePrivateCa(dir, 2));
    vault = await startScratchCluster({ basePort: 19300, tls: certificate, tlsServerName: SERVER_NAME });
  });
  after(async () => {
    await vault?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('without tlsServerName, calls and snapshot reads are refused with an error that says to set it', async () => {
    const address = vault.nodes[0].address;
    const dialledByIp = new VaultHttp({ address, caCert: certificate.caPem });
    const hint = /ERR_TLS_CERT_ALTNAME_INVALID .*set the cluster's "tlsServerName" \(VAULT_TLS_SERVER_NAME\)/;

    await assertRefused(dialledByIp.health(), hint);
    await assertRefused(dialledByIp.openSnapshotStream(vault.rootToken), hint);
  });

  test('with tlsServerName, an authenticated read and a whole snapshot come over verified TLS', async () => {
    const named = new VaultHttp({
      address: vault.nodes[0].address,
      caCert: certificate.caPem,
      tlsServerName: SERVER_NAME,
    });

    assert.equal((await named.health()).sealed, false);
    assert.deepEqual(await tokenPolicies(named, vault.rootToken), ['root']);
    const snapshot = await readWholeSnapshot(await named.openSnapshotStream(vault.rootToken));
    assert.ok(snapshot.bytes > 0 && snapshot.facts.raftIndex > 0, JSON.stringify(snapshot));
  });

  test('a config file with caCertFile and tlsServerName gives the worker a client that does the same', async () => {
    const cluster = clusterFromConfigFile(dir, {
      address: vault.nodes[0].address,
      caCertFile: certificate.caFile,
      tlsServerName: SERVER_NAME,
    });
    const configured = vaultFor(cluster);

    assert.deepEqual(await tokenPolicies(configured, vault.rootToken), ['root']);
    const snapshot = await readWholeSnapshot(await configured.openSnapshotStream(vault.rootToken));
    assert.ok(snapshot.bytes > 0 && snapshot.facts.raftIndex > 0, JSON.stringify(snapshot));
  });
});

describe('a Vault whose listener requires client certificates from its CA (mutual TLS)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsnap-mutual-tls-'));
  const otherCaDir = mkdtempSync(join(tmpdir(), 'vsnap-mutual-tls-other-ca-'));
  let certificate: TestCertificate;
  let clientCertificate: IssuedCertificate;
  let vault: ScratchCluster;
  const hint =
    /Vault requires a client certificate it trusts \(mutual TLS\): set the cluster's "clientCertFile" and "clientKeyFile" \(VAULT_CLIENT_CERT, VAULT_CLIENT_KEY\)/;

  before(async () => {
    const ca = ensurePrivateCa(dir, 2);
    certificate = dnsOnlyCertificate(ca);
    clientCertificate = issueCertificate(ca, 'vsnap-worker', {}, 'client', 2);
    vault = await startScratchCluster({
      basePort: 19310,
      tls: certificate,
      tlsServerName: SERVER_NAME,
      clientCertificate,
    });
  });
  after(async () => {
    await vault?.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(otherCaDir, { recursive: true, force: true });
  });

  /** A client of the scratch server that trusts it and presents `client`, if any. */
  function clientWith(client?: IssuedCertificate): VaultHttp {
    return new VaultHttp({
      address: vault.nodes[0].address,
      caCert: certificate.caPem,
      tlsServerName: SERVER_NAME,
      ...(client
        ? { clientCert: readFileSync(client.certFile, 'utf8'), clientKey: readFileSync(client.keyFile, 'utf8') }
        : {}),
    });
  }

  test('without a client certificate, calls and snapshot reads are refused with an error that says what to set', async () => {
    const anonymous = clientWith();
    const required = new RegExp(`ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED .*${hint.source}`);

    await assertRefused(anonymous.health(), required);
    await assertRefused(anonymous.openSnapshotStream(vault.rootToken), required);
  });

  test('a client certificate from another CA, or a server certificate, is refused with the same hint', async () => {
    const stranger = issueCertificate(ensurePrivateCa(otherCaDir, 2), 'stranger', {}, 'client', 2);

    await assertRefused(clientWith(stranger).health(), new RegExp(`ERR_SSL_TLSV1_ALERT_UNKNOWN_CA .*${hint.source}`));
    await assertRefused(
      clientWith(certificate).health(),
      new RegExp(`ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE .*${hint.source}`),
    );
  });

  test('with clientCertFile and clientKeyFile in the config, an authenticated read and a whole snapshot work', async () => {
    const cluster = clusterFromConfigFile(dir, {
      address: vault.nodes[0].address,
      caCertFile: certificate.caFile,
      tlsServerName: SERVER_NAME,
      clientCertFile: clientCertificate.certFile,
      clientKeyFile: clientCertificate.keyFile,
    });
    const configured = vaultFor(cluster);

    assert.deepEqual(await tokenPolicies(configured, vault.rootToken), ['root']);
    const snapshot = await readWholeSnapshot(await configured.openSnapshotStream(vault.rootToken));
    assert.ok(snapshot.bytes > 0 && snapshot.facts.raftIndex > 0, JSON.stringify(snapshot));
  });
});

describe("a cluster configured in a namespace, on the stack's prod", () => {
  const namespace = `vsnap-test-${randomUUID().slice(0, 8)}`;
  const token = stackEnv.VSNAP_PROD_ROOT_TOKEN;
  let root: VaultHttp;
  let namespaced: VaultHttp;

  /** A KV v2 write in the namespace; a new mount answers "Upgrading" for a moment while it sets itself up. */
  async function writeInNamespace(path: string, data: Record<string, string>): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await namespaced.request('write', { method: 'POST', path, json: { data }, token });
        return;
      } catch (err) {
        if (!(err instanceof VaultRequestError && /Upgrading/.test(err.message) && Date.now() < deadline)) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  before(async () => {
    const address = await activeProdNode();
    root = stackVault('prod', { address });
    namespaced = vaultFor({ ...prodCluster(), address, namespace });
    await root.request('create namespace', { method: 'POST', path: `/sys/namespaces/${namespace}`, token });
    await namespaced.request('enable KV v2', {
      method: 'POST',
      path: '/sys/mounts/kv',
      json: { type: 'kv', options: { version: '2' } },
      token,
    });
  });
  after(async () => {
    if (!root) return;
    // Vault deletes only an empty namespace, and deletes it in the background.
    await namespaced.request('disable KV', { method: 'DELETE', path: '/sys/mounts/kv', token }).catch(() => undefined);
    await root.request('delete namespace', { method: 'DELETE', path: `/sys/namespaces/${namespace}`, token });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const list = await root.request<{ data: { keys: string[] } }>('list namespaces', {
        method: 'LIST',
        path: '/sys/namespaces',
        token,
      });
      if (!list.data.keys.includes(`${namespace}/`)) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`namespace ${namespace} is still on prod 30 s after its deletion: delete it by hand`);
  });

  async function mountsOf(vault: VaultHttp): Promise<string[]> {
    const mounts = await vault.request<{ data: Record<string, unknown> }>('list mounts', {
      method: 'GET',
      path: '/sys/mounts',
      token,
    });
    return Object.keys(mounts.data).sort();
  }

  test("a namespaced client lists the namespace's mounts, not the root namespace's", async () => {
    const inNamespace = await mountsOf(namespaced);

    assert.ok(inNamespace.includes('kv/'), inNamespace.join(', '));
    assert.ok(!inNamespace.includes('secret/'), `root's secret/ is not in the namespace: ${inNamespace.join(', ')}`);
    assert.ok((await mountsOf(root)).includes('secret/'), 'the root namespace has secret/');
  });

  test('a secret written by the namespaced client reads back there, and lives inside the namespace', async () => {
    const value = `namespaced-${randomUUID()}`;
    await writeInNamespace('/kv/data/probe', { value });

    const read = await namespaced.request<{ data: { data: { value: string } } }>('read', {
      method: 'GET',
      path: '/kv/data/probe',
      token,
    });
    assert.equal(read.data.data.value, value);
    const byPath = await root.request<{ data: { data: { value: string } } }>('read by namespace path', {
      method: 'GET',
      path: `/${namespace}/kv/data/probe`,
      token,
    });
    assert.equal(byPath.data.data.value, value, 'the root namespace finds it under the namespace path');
  });

  test("the namespaced client's snapshot read still returns the whole cluster, from the root namespace", async () => {
    const snapshot = await readWholeSnapshot(await namespaced.openSnapshotStream(token));

    assert.ok(snapshot.bytes > 0 && snapshot.facts.raftIndex > 0, JSON.stringify(snapshot));
  });

  test("VAULT_NAMESPACE in the worker's environment does not override the configured namespace", async () => {
    const previous = process.env.VAULT_NAMESPACE;
    process.env.VAULT_NAMESPACE = `${namespace}-not-this-one`;
    try {
      assert.ok((await mountsOf(namespaced)).includes('kv/'), 'the namespaced client stays in its namespace');
      assert.ok((await mountsOf(root)).includes('secret/'), 'the root client stays in the root namespace');
    } finally {
      if (previous === undefined) delete process.env.VAULT_NAMESPACE;
      else process.env.VAULT_NAMESPACE = previous;
    }
  });
});
