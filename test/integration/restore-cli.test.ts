// `vsnap restore`, `vsnap verify` and `vsnap approve` through the real binary, including the
// same-cluster restore path (POST .../snapshot without -force) into the protected prod, approved
// by someone else (`vsnap approve`) or by the starter itself (`--self-approve`).
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
    const { identity } = JSON.parse(approved.stdout) as { identity: string };
    assert.match(identity, /^\d+@/, 'the CLI sends its Temporal client identity, pid@host');
    const report = (await handle.result()) as RestoreReport;
    assert.equal(report.approvedBy, 'alice');
    assert.deepEqual(
      { ...report.approval, at: undefined },
      { approver: 'alice', identity, selfApproved: false, at: undefined },
    );
    assert.ok(Date.parse(report.approval!.at) > 0, `approval time ${report.approval!.at}`);
    assert.equal(report.source, 'prod');
    assert.equal(report.passed, true, JSON.stringify(report.checks));
    const again = await cli(['approve', workflowId, '--approver', 'bob']);
    assert.notEqual(again.code, 0, 'a finished run cannot be approved again');
  });

  test('--self-approve approves the restore it starts, and the report says it was self-approved', async () => {
    const res = await cli(['restore', '--target', 'prod', '--self-approve', '--approver', 'alice', '--json']);
    assert.equal(res.code, 0, res.stderr);
    const { result: report } = JSON.parse(res.stdout) as { result: RestoreReport };
    assert.equal(report.approvedBy, 'alice');
    assert.equal(report.approval?.selfApproved, true, JSON.stringify(report.approval));
    assert.match(report.approval.identity, /^\d+@/);
    assert.equal(report.passed, true, JSON.stringify(report.checks));
  });

  test('a restore cancelled while it waits for approval exits 1 and says the target is unchanged', async () => {
    const workflowId = `restore-cli-cancel-${Date.now()}`;
    const running = cli(['restore', '--target', 'prod', '--id', workflowId]);
    const handle = worker.temporal.client.workflow.getHandle(workflowId);
    await waitForProgress<{ step: string }>(handle, (p) => p.step === 'awaiting-approval');
    await handle.cancel();
    const res = await running;
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, new RegExp(`restore ${workflowId} failed: cancelled; prod is unchanged`));
  });

  test('bad usage exits 2 before anything starts', async () => {
    const res = await cli(['restore', '--snapshot', 'latest']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /"target" is required/);
    const approve = await cli(['approve']);
    assert.equal(approve.code, 2);
    const oldFlag = await cli(['restore', '--target', 'prod', '--approve']);
    assert.equal(oldFlag.code, 2);
    assert.match(oldFlag.stderr, /--approve was replaced by --self-approve/);
    const approverAlone = await cli(['restore', '--target', 'prod', '--approver', 'alice']);
    assert.equal(approverAlone.code, 2);
    assert.match(approverAlone.stderr, /--approver goes with --self-approve/);
    const noWait = await cli(['restore', '--target', 'prod', '--self-approve', '--no-wait']);
    assert.equal(noWait.code, 2);
    assert.match(noWait.stderr, /--self-approve .* drop --no-wait/);
  });
});
