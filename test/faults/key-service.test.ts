// The key service is down during a restore. prod and drill auto-unseal through the stack's key
// service (a transit engine, as a KMS key in AWS). Measured on OpenBao 2.7: with the key service
// unreachable, a forced restore is accepted (204), the target seals itself, and it stays sealed
// even once the key service is back, until its process restarts. So a restore must not start
// while the target cannot reach its seal, and must say so. Target here: a scratch server sealed
// by the same key service, with a keyring of its own (as a fresh drill cluster has).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { transitSealStanza } from '../../scripts/stack/key-service';
import type { backup } from '../../workflows/backup';
import { FailureType } from '../../workflows/names';
import type { restore } from '../../workflows/restore';
import type { verify } from '../../workflows/verify';
import type { ClusterConfig } from '../../worker/config';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy';
import { failureOf, start } from '../helpers/runs';
import { until } from '../helpers/worker-process';
import { startScratchCluster, type ScratchCluster } from '../helpers/scratch-bao';
import { isolatedCluster, repoRoot, stackDir, startTestWorker, type TestWorker } from '../helpers/stack';

const keyServicePid = () => Number(readFileSync(join(stackDir, 'bao-keys', 'keys-1', 'server.pid'), 'utf8').trim());

function stopKeyService(): void {
  process.kill(-keyServicePid(), 'SIGKILL');
}

/** `stack:up` restarts what is not running (the key service) and unseals it. */
function restartKeyService(): void {
  execFileSync('bash', ['scripts/stack.sh', 'up'], { cwd: repoRoot, stdio: 'ignore' });
}

describe('the key service that auto-unseals the target is down during a restore', () => {
  const source = isolatedCluster('prod-keys');
  let target: ScratchCluster;
  let slowTarget: FaultProxy;
  let worker: TestWorker;

  before(async () => {
    target = await startScratchCluster({ basePort: 18920, autoUnsealStanza: transitSealStanza() });
    const drill: ClusterConfig = {
      ...isolatedCluster('keys-drill'),
      address: target.nodes[0].address,
      auth: { method: 'token', tokenEnv: 'TEST_KEYS_DRILL_TOKEN' },
      keyShares: { source: 'env', name: 'TEST_KEYS_DRILL_SHARES' },
      drillSource: 'prod-keys',
      protected: false,
    };
    delete drill.tlsServerName;
    // The same target behind a proxy that holds the restore POST 5 s: time to stop the key
    // service after root was regenerated and before Vault applies the snapshot.
    slowTarget = await startFaultProxy(target.nodes[0].address, {
      delayPath: '/v1/sys/storage/raft/snapshot',
      delayMs: 5_000,
    });
    const slowDrill: ClusterConfig = { ...drill, name: 'keys-drill-slow', address: slowTarget.address };
    delete slowDrill.drillSource;
    worker = await startTestWorker({
      clusters: [source, drill, slowDrill],
      env: {
        TEST_KEYS_DRILL_TOKEN: target.rootToken,
        TEST_KEYS_DRILL_SHARES: JSON.stringify({ keys: target.keys, threshold: 2 }),
      },
    });
    await (await start<typeof backup>(worker, 'backup', { cluster: 'prod-keys' })).result();
  });

  after(async () => {
    restartKeyService();
    await worker?.stop();
    await slowTarget?.close();
    await target?.stop();
  });

  test('the drill fails before the restore, says the seal cannot be reached, and the target stays unsealed and unchanged', async () => {
    const vault = target.nodes[0].vault;
    await vault.request('write marker', {
      method: 'POST',
      path: '/secret/data/marker',
      json: { data: { value: 'before' } },
      token: target.rootToken,
    });
    stopKeyService();
    try {
      const failure = await failureOf(await start<typeof verify>(worker, 'verify', { cluster: 'prod-keys' }));
      assert.equal(failure.type, FailureType.SealUnavailable, failure.message);
      assert.match(failure.message, /key service|seal/i);
      assert.match(failure.message, /Nothing was restored/);
    } finally {
      restartKeyService();
    }
    const health = await vault.health();
    assert.equal(health.sealed, false, 'the target is still unsealed');
    const marker = await vault.request<{ data: { data: { value: string } } }>('read marker', {
      method: 'GET',
      path: '/secret/data/marker',
      token: target.rootToken,
    });
    assert.equal(marker.data.data.value, 'before', "the target still holds its own data, not prod's");
    const attempt = await vault.request<{ started: boolean }>('generate-root status', {
      method: 'GET',
      path: '/sys/generate-root/attempt',
    });
    assert.equal(attempt.started, false, 'no generate-root attempt left open');
  });

  test('the key service goes down once the restore is under way: the run says the target IS SEALED and how to recover it', async () => {
    const handle = await start<typeof restore>(worker, 'restore', {
      target: 'keys-drill-slow',
      source: 'prod-keys',
      force: true,
    });
    await until('the restore POST is held', () => Promise.resolve(slowTarget.delayedRequests === 1), 120_000);
    stopKeyService();
    try {
      const failure = await failureOf(handle);
      assert.equal(failure.type, FailureType.SealUnavailable, failure.message);
      assert.match(failure.message, /IS SEALED: restart its Vault process once the key service answers/);
      assert.equal((await target.nodes[0].vault.health()).sealed, true, 'the report is true: the target is sealed');
    } finally {
      restartKeyService();
    }
  });
});
