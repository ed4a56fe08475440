// Throwaway OpenBao servers for the tests that need a Vault in a particular state (sealed,
// a standby of an HA pair) without disturbing the stack's prod and drill.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VaultHttp } from '../../activities/vault/vault-http';
import type { IssuedCertificate } from '../../scripts/stack/private-ca';
import { bao } from './stack';
import type { TestCertificate } from './test-ca';

export interface ScratchNode {
  address: string;
  vault: VaultHttp;
  process: ChildProcess;
}

export interface ScratchCluster {
  nodes: ScratchNode[];
  rootToken: string;
  keys: string[];
  stop(): Promise<void>;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`scratch OpenBao: ${what} did not happen within ${timeoutMs / 1000}s`);
}

interface NodeOptions {
  tls?: TestCertificate;
  tlsServerName?: string;
  clientCertificate?: IssuedCertificate;
  joinAddress?: string;
  autoUnsealStanza?: string;
  apiAddress?: string;
  performanceMultiplier?: number;
}

function startNode(dir: string, name: string, port: number, options: NodeOptions): ScratchNode {
  const { tls, tlsServerName, clientCertificate, joinAddress, autoUnsealStanza, apiAddress, performanceMultiplier } =
    options;
  const data = join(dir, name);
  const address = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const mutualTls =
    tls && clientCertificate
      ? `  tls_require_and_verify_client_cert = true\n  tls_client_ca_file = "${tls.caFile}"\n`
      : '';
  const listenerTls = tls
    ? `  tls_cert_file = "${tls.certFile}"\n  tls_key_file = "${tls.keyFile}"\n${mutualTls}`
    : '  tls_disable = true\n';
  const joinCa = tls ? `    leader_ca_cert_file = "${tls.caFile}"\n` : '';
  const retryJoin = joinAddress ? `  retry_join {\n    leader_api_addr = "${joinAddress}"\n${joinCa}  }\n` : '';
  const timing = performanceMultiplier ? `  performance_multiplier = ${performanceMultiplier}\n` : '';
  const seal = autoUnsealStanza ?? '';
  writeFileSync(
    join(dir, `${name}.hcl`),
    `storage "raft" {\n  path = "${data}"\n  node_id = "${name}"\n${timing}${retryJoin}}\n` +
      `listener "tcp" {\n  address = "127.0.0.1:${port}"\n  cluster_address = "127.0.0.1:${port + 1}"\n${listenerTls}` +
      `  disable_unauthed_generate_root_endpoints = false\n}\n` +
      seal +
      `api_addr = "${apiAddress ?? address}"\ncluster_addr = "http://127.0.0.1:${port + 1}"\nlog_level = "error"\n`,
  );
  mkdirSync(data, { recursive: true });
  const child = spawn(bao, ['server', `-config=${join(dir, `${name}.hcl`)}`], { stdio: 'ignore', detached: true });
  const vault = new VaultHttp({
    address,
    timeoutMs: 60_000,
    ...(tls ? { caCert: tls.caPem } : {}),
    ...(tlsServerName ? { tlsServerName } : {}),
    ...(clientCertificate
      ? {
          clientCert: readFileSync(clientCertificate.certFile, 'utf8'),
          clientKey: readFileSync(clientCertificate.keyFile, 'utf8'),
        }
      : {}),
  });
  return { address, vault, process: child };
}

async function unseal(node: ScratchNode, keys: string[], threshold: number): Promise<void> {
  for (const key of keys.slice(0, threshold)) {
    await node.vault.request('unseal', { method: 'PUT', path: '/sys/unseal', json: { key } });
  }
}

/**
 * Starts `size` OpenBao nodes on ports from `basePort` (two per node). The first is
 * initialised; `unsealed: false` leaves it sealed. Further nodes join it as standbys.
 */
export async function startScratchCluster(options: {
  basePort: number;
  size?: number;
  unsealed?: boolean;
  /**
   * An auto-unseal `seal "..." { }` stanza (e.g. the stack's transit seal: a shared key, as a
   * shared KMS key): the cluster is initialised with recovery keys and unseals on its own.
   */
  autoUnsealStanza?: string;
  /** The address node i advertises (sys/leader's leader_address), e.g. a proxy in front of it. */
  apiAddress?: (node: number) => string;
  /** Raft's timing scale: a higher value makes failure detection and elections slower. */
  performanceMultiplier?: number;
  /**
   * Shamir shares and threshold (default 1 of 1). A server that will take another cluster's
   * snapshot needs a split like that cluster's: with a single share OpenBao uses the share
   * itself as the key, and a restored multi-share keyring then cannot be unsealed.
   */
  keyShares?: { shares: number; threshold: number };
  /** Serve the API over TLS with this certificate (one for every node: they all are 127.0.0.1). */
  tls?: TestCertificate;
  /**
   * The name the helper's own clients check `tls`'s certificate against, for a certificate that
   * does not cover 127.0.0.1 (one node only: a joining node would check the leader's address).
   */
  tlsServerName?: string;
  /**
   * Require mutual TLS: the listener asks for a client certificate signed by `tls`'s CA, and the
   * helper's own clients present this one (one node only, like `tlsServerName`).
   */
  clientCertificate?: IssuedCertificate;
}): Promise<ScratchCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'vsnap-scratch-bao-'));
  const size = options.size ?? 1;
  const shamir = options.keyShares ?? { shares: 1, threshold: 1 };
  const nodeOptions = (i: number, joinAddress?: string): NodeOptions => ({
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.tlsServerName ? { tlsServerName: options.tlsServerName } : {}),
    ...(options.clientCertificate ? { clientCertificate: options.clientCertificate } : {}),
    ...(joinAddress ? { joinAddress } : {}),
    ...(options.autoUnsealStanza ? { autoUnsealStanza: options.autoUnsealStanza } : {}),
    ...(options.apiAddress ? { apiAddress: options.apiAddress(i) } : {}),
    ...(options.performanceMultiplier ? { performanceMultiplier: options.performanceMultiplier } : {}),
  });
  const nodes: ScratchNode[] = [startNode(dir, 'n0', options.basePort, nodeOptions(0))];
  const stop = async () => {
    // Wait for each server to be gone before removing its data directory under it.
    await Promise.all(
      nodes.map(
        (n) =>
          new Promise<void>((resolve) => {
            if (n.process.exitCode !== null || n.process.signalCode !== null) return resolve();
            n.process.once('exit', () => resolve());
            n.process.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const first = nodes[0];
    await until(`${first.address} listening`, async () => (await first.vault.health(), true));
    const init = await first.vault.request<{
      keys_base64: string[];
      recovery_keys_base64: string[];
      root_token: string;
    }>('init', {
      method: 'PUT',
      path: '/sys/init',
      json: options.autoUnsealStanza
        ? { recovery_shares: 3, recovery_threshold: 2 }
        : { secret_shares: shamir.shares, secret_threshold: shamir.threshold },
    });
    const keys = options.autoUnsealStanza ? init.recovery_keys_base64 : init.keys_base64;
    if (options.unsealed === false) return { nodes, rootToken: init.root_token, keys, stop };
    if (!options.autoUnsealStanza) await unseal(first, keys, shamir.threshold);
    await until(`${first.address} active`, async () => !(await first.vault.health()).standby);
    await first.vault.request('enable KV v2', {
      method: 'POST',
      path: '/sys/mounts/secret',
      json: { type: 'kv', options: { version: '2' } },
      token: init.root_token,
    });
    for (let i = 1; i < size; i++) {
      const node = startNode(dir, `n${i}`, options.basePort + 2 * i, nodeOptions(i, first.address));
      nodes.push(node);
      await until(`${node.address} listening`, async () => (await node.vault.health(), true));
      // A joining Shamir node unseals with the leader's keys once retry_join has reached it.
      await until(`${node.address} joined and unsealed`, async () => {
        if ((await node.vault.health()).sealed) await unseal(node, keys, shamir.threshold);
        const h = await node.vault.health();
        return !h.sealed && h.standby;
      });
    }
    return { nodes, rootToken: init.root_token, keys, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
