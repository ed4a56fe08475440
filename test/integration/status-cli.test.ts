// `vsnap backup` (no wait), `vsnap watch` and `vsnap status` through the real binary.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { vsnap } from '../helpers/cli';
import { startTestWorker, type TestWorker } from '../helpers/stack';

describe('vsnap status and watch (real CLI, real worker)', () => {
  let worker: TestWorker;
  let cli: (args: string[]) => ReturnType<typeof vsnap>;

  before(async () => {
    worker = await startTestWorker();
    cli = (args) => vsnap([...args, '--task-queue', worker.taskQueue]);
  });
  after(async () => worker?.stop());

  test('a started backup can be watched to completion, then its status is completed', async () => {
    const started = await cli(['backup', '--cluster', 'prod', '--json']);
    assert.equal(started.code, 0, started.stderr);
    const { workflowId } = JSON.parse(started.stdout) as { workflowId: string };
    const watched = await cli(['watch', workflowId]);
    assert.equal(watched.code, 0, watched.stderr);
    assert.match(watched.stdout.trim().split('\n').at(-1)!, new RegExp(`backup ${workflowId}\\s+completed`));
    const status = await cli(['status', workflowId, '--json']);
    assert.equal(status.code, 0);
    assert.equal((JSON.parse(status.stdout) as { status: string; step: string }).status, 'COMPLETED');
  });

  test('the status of a failed run exits 1 and says why', async () => {
    const failed = await cli(['backup', '--cluster', 'nope', '--wait']);
    assert.equal(failed.code, 1);
    const workflowId = /backup (backup-nope-\S+) failed/.exec(failed.stderr)?.[1];
    assert.ok(workflowId, failed.stderr);
    const status = await cli(['status', workflowId]);
    assert.equal(status.code, 1);
    assert.match(status.stderr, /UnknownCluster: unknown cluster "nope"/);
  });

  test('an unknown workflow id is a usage error', async () => {
    const res = await cli(['status', 'no-such-run']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /no workflow "no-such-run"/);
  });
});
