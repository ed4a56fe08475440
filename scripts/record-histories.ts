// Records the histories the replay tests replay: real runs of every workflow type on the local
// stack, saved as JSON under test/fixtures/histories/. Run after a deliberate workflow change
// (one that old histories need not replay, e.g. before any release): npm run record-histories
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { failureOf, start } from '../test/helpers/runs';
import { repoRoot, startTestWorker } from '../test/helpers/stack';
import type { backup } from '../workflows/backup';
import type { restore } from '../workflows/restore';
import type { verify } from '../workflows/verify';

async function main(): Promise<void> {
  const worker = await startTestWorker();
  const dir = join(repoRoot, 'test', 'fixtures', 'histories');
  const save = async (name: string, workflowId: string) => {
    const history = await worker.temporal.client.workflow.getHandle(workflowId).fetchHistory();
    // The JSON the Temporal CLI and UI export, which Worker.runReplayHistory reads.
    const { historyToJSON } = await import('@temporalio/common/lib/proto-utils');
    writeFileSync(join(dir, `${name}.json`), historyToJSON(history) + '\n');
    console.log(`recorded ${name}`);
  };
  try {
    const b = await start<typeof backup>(worker, 'backup', { cluster: 'prod' });
    await b.result();
    await save('backup-ok', b.workflowId);
    const bad = await start<typeof backup>(worker, 'backup', { cluster: 'nope' });
    await failureOf(bad);
    await save('backup-unknown-cluster', bad.workflowId);
    const v = await start<typeof verify>(worker, 'verify', { cluster: 'prod' });
    await v.result();
    await save('verify-ok', v.workflowId);
    const dry = await start<typeof restore>(worker, 'restore', { target: 'drill', dryRun: true });
    await dry.result();
    await save('restore-dry-run', dry.workflowId);
    const r = await start<typeof restore>(worker, 'restore', { target: 'drill' });
    await r.result();
    await save('restore-ok', r.workflowId);
  } finally {
    await worker.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
