// Fault 1: the worker is SIGKILLed in the middle of an upload (an OOM kill, a node lost). Nothing
// runs in `finally`: the multipart upload stays open and the activity's Vault token is not
// revoked. A second worker must take the activity over after its heartbeat timeout, abort the
// orphaned upload, and complete a valid backup; the orphaned token must expire on its own.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ListMultipartUploadsCommand, ListPartsCommand } from '@aws-sdk/client-s3';
import { fillTo } from '../../bench/fill';
import { connectTemporal, type VsnapClient } from '../../client/connection';
import type { backup } from '../../workflows/backup';
import { assertValidSnapshot, bucket, s3 } from '../helpers/bucket';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy';
import { activityAttempts } from '../helpers/runs';
import { baoInit, isolatedCluster, stackConfig, stackVault, stackUpstreamTls, activeProdNode } from '../helpers/stack';
import {
  startWorkerProcess,
  until,
  type WorkerProcess,
  workerStarted,
  writeWorkflowBundle,
} from '../helpers/worker-process';

const prodRoot = baoInit('prod').rootToken;
const prod = stackVault('prod', { timeoutMs: 30_000 });

interface TokenInfo {
  accessor: string;
  display_name: string;
  creation_time: number;
  creation_ttl: number;
  ttl: number;
  meta?: Record<string, string> | null;
}

/** Every live token the snapshot agent's AppRole issued, seen through prod's root token. */
async function snapshotAgentTokens(): Promise<TokenInfo[]> {
  const list = await prod.request<{ data: { keys: string[] } }>('list accessors', {
    method: 'LIST',
    path: '/auth/token/accessors',
    token: prodRoot,
  });
  const tokens: TokenInfo[] = [];
  for (const accessor of list.data.keys) {
    const info = await prod
      .request<{ data: TokenInfo }>('lookup accessor', {
        method: 'POST',
        path: '/auth/token/lookup-accessor',
        json: { accessor },
        token: prodRoot,
      })
      .catch(() => undefined);
    if (info && info.data.meta?.role_name === 'snapshot-agent') tokens.push(info.data);
  }
  return tokens;
}

describe('a worker killed with SIGKILL mid-upload', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsnap-kill-'));
  const workers: WorkerProcess[] = [];
  let slowVault: FaultProxy;

  before(async () => {
    await fillTo({ vault: stackVault('prod'), token: prodRoot }, 12 * 2 ** 20);
    // 12 MiB at 1 MiB/s: the kill lands after the first 5 MiB part is in S3.
    slowVault = await startFaultProxy(await activeProdNode(), {
      throttleSnapshotBytesPerSecond: 1024 * 1024,
      upstreamTls: stackUpstreamTls('prod'),
    });
  });
  const clients: VsnapClient[] = [];
  after(async () => {
    workers.forEach((w) => w.child.kill('SIGKILL'));
    await slowVault?.close();
    // Closed here even when the test failed half-way, or this file's process would never exit.
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await fillTo({ vault: stackVault('prod'), token: prodRoot }, 0);
  });

  test('a second worker completes a valid backup; no upload is left open; the orphaned token expires', async () => {
    // The fault proxy speaks plain HTTP on loopback (to prod's node over TLS).
    const cluster = { ...isolatedCluster('prod-killed'), address: slowVault.address, allowInsecureHttp: true };
    const configFile = join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify({ clusters: [...stackConfig().clusters, cluster] }));
    const taskQueue = `kill-${randomUUID()}`;
    const env = {
      VSNAP_TASK_QUEUE: taskQueue,
      VSNAP_CONFIG: configFile,
      VSNAP_PART_SIZE_MIB: '5',
      VSNAP_WORKFLOW_BUNDLE: await writeWorkflowBundle(dir),
    };
    const first = startWorkerProcess(env);
    workers.push(first);
    await workerStarted(first);

    const startedAt = Math.floor(Date.now() / 1000);
    const temporal = await connectTemporal({ taskQueue });
    clients.push(temporal);
    const handle = await temporal.client.workflow.start<typeof backup>('backup', {
      taskQueue,
      workflowId: `kill-backup-${randomUUID()}`,
      args: [{ cluster: cluster.name }],
    });
    const prefix = `${cluster.storage.prefix}/`;
    let orphan: { Key?: string; UploadId?: string } = {};
    await until(
      'a part of the upload is in S3',
      async () => {
        const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
        orphan = uploads.Uploads?.[0] ?? {};
        if (!orphan.UploadId) return false;
        const parts = await s3.send(
          new ListPartsCommand({ Bucket: bucket, Key: orphan.Key, UploadId: orphan.UploadId }),
        );
        return (parts.Parts ?? []).length > 0;
      },
      30_000,
    );
    first.child.kill('SIGKILL');
    await first.exited;

    const second = startWorkerProcess(env);
    workers.push(second);
    // The activity is retried once its 30 s heartbeat timeout expires, on the second worker.
    const result = await handle.result();
    const attempts = await activityAttempts(handle);

    assert.equal(attempts.streamSnapshotToS3, 2, 'the upload ran again, on the second worker');
    assert.equal(result.key, orphan.Key, 'the same key: the backup was retried, not duplicated');
    await assertValidSnapshot(result.key, result.sha256);
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
    assert.deepEqual(uploads.Uploads ?? [], [], 'the orphaned multipart upload was aborted');

    // The killed attempt could not revoke its token; it must die on its own, within 15 minutes.
    // Every other token of the run (plan, canary, inventory, the second attempt) was revoked.
    const leftovers = (await snapshotAgentTokens()).filter((t) => t.creation_time >= startedAt - 5);
    assert.equal(leftovers.length, 1, 'only the killed attempt left its token (nothing ran in its finally)');
    for (const t of leftovers) {
      assert.ok(t.creation_ttl > 0 && t.creation_ttl <= 900, `token ${t.accessor} has TTL ${t.creation_ttl}s`);
      assert.ok(t.ttl <= 900, `token ${t.accessor} still lives ${t.ttl}s`);
    }
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
  });
});
