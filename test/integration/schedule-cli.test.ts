// `vsnap schedule` through the real binary against the real Temporal dev server and a real
// worker: apply is idempotent, updates exactly what changed, prunes only its own, rejects a bad
// file naming the line, and trigger/pause/unpause/delete do what they say.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { vsnap } from '../helpers/cli';
import { startTestWorker, type TestWorker } from '../helpers/stack';
import { until } from '../helpers/worker-process';

interface Change {
  id: string;
  action: string;
}

describe('vsnap schedule (real CLI, real Temporal)', () => {
  let worker: TestWorker;
  const dir = mkdtempSync(join(tmpdir(), 'vsnap-schedules-'));
  const created: string[] = [];

  /**
   * A test's own schedule ids and task queue, so no test depends on what another applied
   * (--prune acts on every vsnap schedule of a task queue). `onWorker` uses the worker's queue.
   */
  const fixture = (onWorker = false) => {
    const suffix = Math.random().toString(36).slice(2, 8);
    const backupId = `test-backup-${suffix}`;
    const verifyId = `test-verify-${suffix}`;
    created.push(backupId, verifyId);
    const taskQueue = onWorker ? worker.taskQueue : `schedules-${suffix}`;
    const cli = (args: string[]) => vsnap([...args, '--task-queue', taskQueue]);
    const scheduleFile = (backupCron: string, withVerify = true) =>
      writeFile(
        `schedules-${suffix}-${Math.random()}.yaml`,
        `schedules:\n  - id: ${backupId}\n    kind: backup\n    cluster: prod\n    cron: "${backupCron}"\n    input:\n      keep: 28\n` +
          (withVerify ? `  - id: ${verifyId}\n    kind: verify\n    cluster: prod\n    cron: "0 3 * * 1"\n` : ''),
      );
    const changes = async (args: string[]) => {
      const res = await cli([...args, '--json']);
      assert.equal(res.code, 0, res.stderr);
      return (JSON.parse(res.stdout) as { changes: Change[] }).changes.map((c) => `${c.action} ${c.id}`).sort();
    };
    return { backupId, verifyId, cli, scheduleFile, changes };
  };

  const writeFile = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  before(async () => {
    worker = await startTestWorker();
  });

  after(async () => {
    for (const id of created) await vsnap(['schedule', 'delete', id]);
    await worker?.stop();
  });

  test('apply creates, a second apply is a no-op, a changed file updates exactly what changed', async () => {
    const { backupId, verifyId, cli, scheduleFile, changes } = fixture();
    const file = scheduleFile('0 */6 * * *');
    assert.deepEqual(await changes(['schedule', 'apply', file]), [`create ${backupId}`, `create ${verifyId}`]);
    assert.deepEqual(await changes(['schedule', 'apply', file]), [`unchanged ${backupId}`, `unchanged ${verifyId}`]);
    const changed = scheduleFile('30 */4 * * *');
    const dry = await cli(['schedule', 'apply', changed, '--dry-run']);
    assert.match(dry.stdout, new RegExp(`would update\\s+${backupId}`));
    assert.deepEqual(await changes(['schedule', 'apply', changed]), [`unchanged ${verifyId}`, `update ${backupId}`]);

    const list = await cli(['schedule', 'list', '--json']);
    const rows = JSON.parse(list.stdout) as { id: string; cron: string; kind: string; cluster: string }[];
    const backupRow = rows.find((r) => r.id === backupId);
    assert.deepEqual(
      { cron: backupRow?.cron, kind: backupRow?.kind, cluster: backupRow?.cluster },
      { cron: '30 */4 * * *', kind: 'backup', cluster: 'prod' },
    );
  });

  test('--prune deletes the schedules of this task queue that the file no longer lists', async () => {
    const { backupId, verifyId, cli, scheduleFile, changes } = fixture();
    assert.deepEqual(await changes(['schedule', 'apply', scheduleFile('30 */4 * * *')]), [
      `create ${backupId}`,
      `create ${verifyId}`,
    ]);
    const onlyBackup = scheduleFile('30 */4 * * *', false);
    assert.deepEqual(await changes(['schedule', 'apply', onlyBackup, '--prune']), [
      `delete ${verifyId}`,
      `unchanged ${backupId}`,
    ]);
    const gone = await cli(['schedule', 'describe', verifyId]);
    assert.equal(gone.code, 2);
    assert.match(gone.stderr, /no schedule/);
  });

  test('a bad file is rejected with each offending line named, and nothing is applied', async () => {
    const { verifyId, cli } = fixture();
    const bad = writeFile(
      'bad.yaml',
      [
        'schedules:',
        `  - id: ${verifyId}`,
        '    kind: verify',
        '    cluster: prod',
        '    cron: "61 * * * *"',
        '  - id: other',
        '    kind: backup',
        '    cluster: nope',
        '',
      ].join('\n'),
    );
    const res = await cli(['schedule', 'apply', bad]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /bad\.yaml:5: invalid cron .*minute field 61 is out of range 0-59/);
    assert.match(res.stderr, /bad\.yaml:8: unknown cluster "nope"/);
    assert.match(res.stderr, /nothing was applied/);
    assert.equal((await cli(['schedule', 'describe', verifyId])).code, 2, 'the valid entry was not applied either');
  });

  test('pause, unpause and trigger: the triggered backup runs on the worker', async () => {
    const { backupId, cli, scheduleFile, changes } = fixture(true);
    assert.deepEqual(await changes(['schedule', 'apply', scheduleFile('30 */4 * * *', false)]), [`create ${backupId}`]);
    assert.equal((await cli(['schedule', 'pause', backupId, '--note', 'maintenance'])).code, 0);
    const paused = JSON.parse((await cli(['schedule', 'describe', backupId, '--json'])).stdout) as {
      state: { paused: boolean; note?: string };
    };
    assert.deepEqual(paused.state, { ...paused.state, paused: true, note: 'maintenance' });
    assert.equal((await cli(['schedule', 'unpause', backupId])).code, 0);

    assert.equal((await cli(['schedule', 'trigger', backupId])).code, 0);
    const handle = worker.temporal.client.schedule.getHandle(backupId);
    let workflowId: string | undefined;
    await until('the trigger started a run', async () => {
      workflowId = (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId;
      return workflowId !== undefined;
    });
    assert.ok(workflowId);
    const result = (await worker.temporal.client.workflow.getHandle(workflowId).result()) as {
      cluster: string;
      sha256: string;
    };
    assert.equal(result.cluster, 'prod');
    assert.match(result.sha256, /^[0-9a-f]{64}$/);
    const description = await worker.temporal.client.workflow.getHandle(workflowId).describe();
    assert.deepEqual(description.searchAttributes.VsnapKind, ['backup']);
    assert.deepEqual(description.searchAttributes.VsnapCluster, ['prod']);
  });

  test('usage errors exit 2 with a message that names the fix', async () => {
    const { backupId, cli } = fixture();
    const unknown = await cli(['schedule', 'frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown subcommand "frobnicate"/);
    const badFlag = await vsnap(['backup', '--bogus']);
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /vsnap backup: .*bogus.*see "vsnap backup --help"/);
    const backfill = await cli(['schedule', 'backfill', backupId, '--start', 'yesterday']);
    assert.equal(backfill.code, 2);
    assert.match(backfill.stderr, /--start and --end as ISO times/);
    const help = await vsnap(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /schedule\s+Manage backup and drill schedules/);
  });
});
