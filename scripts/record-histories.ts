// Records the histories the replay tests replay: real runs of every workflow type on the local
// stack, saved as JSON under test/fixtures/histories/current-release/ (the previous release's
// stay in previous-release/). Run after a deliberate workflow change within the release:
// npm run record-histories
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { failureOf, start } from '../test/helpers/runs';
import { baoInit, repoRoot, stackVault, startTestWorker } from '../test/helpers/stack';
import type { recover } from '../workflows/recover';
import type { backup } from '../workflows/backup';
import { clusterLockId } from '../workflows/cluster-lock';
import type { restore } from '../workflows/restore';
import type { verify } from '../workflows/verify';

async function main(): Promise<void> {
  // Recorded with payload encryption off: the fixtures must replay on any machine, which has
  // none of this stack's codec keys. Workflow code sees decoded payloads either way.
  for (const name of ['VSNAP_CODEC_KEYS', 'VSNAP_CODEC_KEYS_FILE', 'VSNAP_CODEC_KEYS_KMS_CIPHERTEXT']) {
    delete process.env[name];
  }
  const worker = await startTestWorker();
  const dir = join(repoRoot, 'test', 'fixtures', 'histories', 'current-release');
  mkdirSync(dir, { recursive: true });
  const save = async (name: string, workflowId: string) => {
    const history = await worker.temporal.client.workflow.getHandle(workflowId).fetchHistory();
    // The JSON the Temporal CLI and UI export, which Worker.runReplayHistory reads.
    const { historyToJSON } = await import('@temporalio/common/lib/proto-utils');
    writeFileSync(join(dir, `${name}.json`), historyToJSON(history) + '\n');
    console.log(`recorded ${name}`);
  };
  const prod = stackVault('prod');
  const asRoot = { token: baoInit('prod').rootToken };
  const secretPath = '/secret/data/apps/replay-fixture';
  try {
    // A secret the backup captures and the recover below brings back after it is deleted.
    await prod.request('write', { method: 'POST', path: secretPath, json: { data: { field: 'fixture' } }, ...asRoot });
    const b = await start<typeof backup>(worker, 'backup', { cluster: 'prod' });
    await b.result();
    await save('backup-ok', b.workflowId);
    const bad = await start<typeof backup>(worker, 'backup', { cluster: 'nope' });
    await failureOf(bad);
    await save('backup-unknown-cluster', bad.workflowId);
    const v = await start<typeof verify>(worker, 'verify', { cluster: 'prod' });
    await v.result();
    await save('verify-ok', v.workflowId);
    // The lock that drill held (its latest run under the lock's fixed id).
    await save('clusterLock-ok', clusterLockId(worker.taskQueue, 'drill'));
    const dry = await start<typeof restore>(worker, 'restore', { target: 'drill', dryRun: true });
    await dry.result();
    await save('restore-dry-run', dry.workflowId);
    const r = await start<typeof restore>(worker, 'restore', { target: 'drill' });
    await r.result();
    await save('restore-ok', r.workflowId);
    const e = await start<typeof verify>(worker, 'verify', { cluster: 'prod', target: 'ephemeral' });
    await e.result();
    await save('verify-ephemeral-ok', e.workflowId);
    await prod.request('delete', { method: 'DELETE', path: '/secret/metadata/apps/replay-fixture', ...asRoot });
    const path = 'secret/apps/replay-fixture';
    const dryRecover = await start<typeof recover>(worker, 'recover', { cluster: 'prod', path, dryRun: true });
    await dryRecover.result();
    await save('recover-dry-run', dryRecover.workflowId);
    const rec = await start<typeof recover>(worker, 'recover', { cluster: 'prod', path });
    for (;;) {
      const p = await rec.query<{ step: string }>('progress');
      if (p.step === 'awaiting-approval') break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await rec.executeUpdate('approve', { args: [{ approver: 'fixture', identity: 'record-histories' }] });
    await rec.result();
    await save('recover-ok', rec.workflowId);
  } finally {
    await worker.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
