// `vsnap restore`, `vsnap verify` and `vsnap approve` through the real binary, including the
// same-cluster restore path (POST .../snapshot without -force) into the protected prod.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RestoreReport } from '../../workflows/restore-types';
import { vsnap } from '../helpers/cli';
import { waitForProgress } from '../helpers/runs';
import { startTestWorker, type TestWorker } from '../helpers/stack';

describe('vsnap restore, verify and approve (real CLI, real worker)', () => {
  let worker: TestWorker;
  let cli: (args: string[]) => ReturnType<typeof vsnap>;

  before(async () => {
    worker = await startTestWorker();
    cli = (args) => vsnap([...args, '--task-queue', worker.taskQueue]);
    const backup = await cli(['backup', '--cluster', 'prod', '--wait', '--json']);
    assert.equal(backup.code, 0, backup.stderr);
  });
  after(async () => worker?.stop());

  test('verify --json prints a passing report', async () => {
    const res = await cli(['verify', '--cluster', 'prod', '--json']);
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as { status: string; result: RestoreReport };
    assert.equal(out.status, 'completed');
    assert.equal(out.result.passed, true);
    assert.equal(out.result.target, 'drill');
  });

  test('restore --dry-run validates without touching the target', async () => {
    const res = await cli(['restore', '--target', 'drill', '--dry-run', '--json']);
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as { result: RestoreReport };
    assert.equal(out.result.dryRun, true);
    assert.deepEqual(
      out.result.steps.map((s) => s.step),
      ['plan', 'fetch'],
    );
  });

  test('a protected prod waits for `vsnap approve`, then restores its own snapshot (no force)', async () => {
    const started = await cli(['restore', '--target', 'prod', '--no-wait', '--json']);
    assert.equal(started.code, 0, started.stderr);
    const { workflowId } = JSON.parse(started.stdout) as { workflowId: string };
    const handle = worker.temporal.client.workflow.getHandle(workflowId);
    await waitForProgress<{ step: string }>(handle, (p) => p.step === 'awaiting-approval');
    const approved = await cli(['approve', workflowId, '--approver', 'alice', '--json']);
    assert.equal(approved.code, 0, approved.stderr);
    const report = (await handle.result()) as RestoreReport;
    assert.equal(report.approvedBy, 'alice');
    assert.equal(report.source, 'prod');
    assert.equal(report.passed, true, JSON.stringify(report.checks));
    const again = await cli(['approve', workflowId, '--approver', 'bob']);
    assert.notEqual(again.code, 0, 'a finished run cannot be approved again');
  });

  test('bad usage exits 2 before anything starts', async () => {
    const res = await cli(['restore', '--snapshot', 'latest']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /"target" is required/);
    const approve = await cli(['approve']);
    assert.equal(approve.code, 2);
  });
});
