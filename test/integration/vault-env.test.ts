// vsnap's Vault layer depends on the cluster's config alone, not on the environment variables
// node-vault reads by itself: VAULT_SKIP_VERIFY (any value turns TLS verification off),
// VAULT_PREFIX and VAULT_NAMESPACE (rewrite every path), DEBUG (logs request bodies, which carry
// secret IDs and key shares). Against a real OpenBao behind TLS from a private CA.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startScratchCluster, type ScratchCluster } from '../helpers/scratch-bao';
import { repoRoot } from '../helpers/stack';
import { makeTestCertificate } from '../helpers/test-ca';

describe('the Vault layer ignores the environment node-vault would obey', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsnap-vault-env-'));
  let vault: ScratchCluster;
  let caFile = '';

  before(async () => {
    const certificate = makeTestCertificate(dir);
    caFile = certificate.caFile;
    vault = await startScratchCluster({ basePort: 18990, tls: certificate });
  });
  after(async () => {
    await vault?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('VAULT_SKIP_VERIFY, VAULT_PREFIX, VAULT_NAMESPACE and DEBUG change nothing', () => {
    const secret = `probe-secret-${randomUUID()}`;
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'test', 'helpers', 'vault-env-probe.ts')],
      {
        cwd: repoRoot,
        encoding: 'utf8',
        timeout: 120_000,
        env: {
          ...process.env,
          VAULT_SKIP_VERIFY: 'false', // any value at all turns node-vault's verification off
          VAULT_PREFIX: '/no-such-prefix',
          VAULT_NAMESPACE: 'no-such-namespace',
          VAULT_TOKEN: 'not-a-token',
          DEBUG: '*',
          PROBE_ADDR: vault.nodes[0].address,
          PROBE_CA_FILE: caFile,
          PROBE_TOKEN: vault.rootToken,
          PROBE_SECRET: secret,
        },
      },
    );
    const output = `${run.stdout}\n${run.stderr}`;
    const lastLine = run.stdout.trim().split('\n').pop() ?? '';
    const result = JSON.parse(lastLine) as {
      untrustedError: string | null;
      untrustedStreamError: string | null;
      roundTrip?: boolean;
      failed?: string;
    };
    assert.equal(result.failed, undefined, output);
    assert.match(
      result.untrustedError ?? 'accepted',
      /UNABLE_TO_VERIFY_LEAF_SIGNATURE \(Vault's TLS certificate is not trusted: set the cluster's "caCertFile"/,
      'JSON calls verify TLS',
    );
    assert.match(
      result.untrustedStreamError ?? 'accepted',
      /UNABLE_TO_VERIFY_LEAF_SIGNATURE \(Vault's TLS certificate is not trusted: set the cluster's "caCertFile"/,
      'streams verify TLS',
    );
    assert.equal(result.roundTrip, true, 'a write and a read with the configured path and no namespace');
    assert.ok(!output.includes(secret), 'no request body was logged');
    assert.ok(!output.includes(vault.rootToken), 'no token was logged');
  });
});
