// The progress `vsnap status`, `vsnap watch` and the commands that wait for their run print:
// pure formatting, the ETA and rate behind it, and when a line is printed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { etaSeconds, formatDuration, formatProgress, ProgressView, RateMeter } from '../../client/progress';

test('a run waiting for its cluster names the operation it waits behind', () => {
  const line = formatProgress(
    {
      workflowId: 'backup-prod-2',
      type: 'backup',
      status: 'RUNNING',
      step: 'waiting-for-lock',
      waitingFor: { kind: 'verify', workflowId: 'verify-prod-1' },
    },
    0,
  );
  assert.equal(line, 'backup backup-prod-2  running  step waiting-for-lock  behind verify verify-prod-1');
});

test('a streaming run shows a bar, bytes and ETA; a retried one its attempt and last failure', () => {
  const line = formatProgress(
    {
      workflowId: 'restore-drill-1',
      type: 'restore',
      status: 'RUNNING',
      step: 'restore',
      bytes: 5 * 2 ** 20,
      totalBytes: 10 * 2 ** 20,
      attempt: 2,
      lastFailure: 'connection reset',
    },
    2 ** 20,
    10,
  );
  assert.equal(
    line,
    'restore restore-drill-1  running  step restore  [#####.....] 50%  5.0 MiB/10.0 MiB  ETA 5s  1.0 MiB/s  attempt 2 (last: connection reset)',
  );
});

const MiB = 2 ** 20;

test('a backup counts towards the previous snapshot size: marked "~", no ETA once it is passed', () => {
  const streaming = {
    workflowId: 'backup-prod-3',
    type: 'backup',
    status: 'RUNNING',
    step: 'snapshot',
    bytes: 5 * MiB,
    expectedBytes: 14 * MiB,
  };
  assert.equal(
    formatProgress(streaming, MiB, 10),
    'backup backup-prod-3  running  step snapshot  [####......] ~36%  5.0 MiB/~14.0 MiB  ETA ~9s  1.0 MiB/s',
  );
  assert.equal(
    formatProgress({ ...streaming, bytes: 15 * MiB }, MiB, 10),
    'backup backup-prod-3  running  step snapshot  [##########] ~100%  15.0 MiB/~14.0 MiB  1.0 MiB/s',
  );
  // The first backup of a cluster has nothing to count towards: bytes and rate only.
  assert.equal(
    formatProgress({ ...streaming, expectedBytes: undefined }, MiB),
    'backup backup-prod-3  running  step snapshot  5.0 MiB  1.0 MiB/s',
  );
});

test('ETA: towards the known size first, else the estimate; none without a rate', () => {
  const p = { workflowId: 'w', type: 'restore', status: 'RUNNING', bytes: 40 * MiB };
  assert.equal(etaSeconds({ ...p, totalBytes: 100 * MiB, expectedBytes: 50 * MiB }, 2 * MiB), 30);
  assert.equal(etaSeconds({ ...p, expectedBytes: 50 * MiB }, 2 * MiB), 5);
  assert.equal(etaSeconds({ ...p, totalBytes: 100 * MiB }, 0), undefined);
  assert.equal(etaSeconds({ ...p, expectedBytes: 30 * MiB }, 2 * MiB), undefined);
  assert.deepEqual([0.2, 42, 60, 187, 3599, 3600, 7500].map(formatDuration), [
    '1s',
    '42s',
    '1m00s',
    '3m07s',
    '59m59s',
    '1h00m',
    '2h05m',
  ]);
});

test('the rate is measured over a window: bytes move in whole parts, and a retry starts over', () => {
  const meter = new RateMeter(10_000);
  // A 5 MiB part stored every 5 s, sampled every second: 1 MiB/s, not 5 MiB/s then nothing.
  for (let second = 0; second <= 20; second++) meter.sample(Math.floor(second / 5) * 5 * MiB, second * 1000);
  assert.ok(Math.abs(meter.rate - MiB) < 0.1 * MiB, `rate ${meter.rate / MiB} MiB/s`);
  meter.sample(0, 21_000);
  assert.equal(meter.rate, 0, 'a retry from zero drops what the last try measured');
  meter.sample(2 * MiB, 23_000);
  assert.equal(meter.rate, MiB);
});

describe('ProgressView', () => {
  const run = { workflowId: 'backup-prod-4', type: 'backup', status: 'RUNNING', expectedBytes: 20 * MiB };

  test('off a terminal: a line per step at once, then a line at most every interval while bytes move', () => {
    const out: string[] = [];
    const view = new ProgressView({ tty: false, write: (t) => out.push(t), plainIntervalMs: 5000 });
    view.show({ ...run, step: 'plan' }, 0);
    view.show({ ...run, step: 'plan' }, 1000);
    view.show({ ...run, step: 'snapshot' }, 2000);
    view.show({ ...run, step: 'snapshot', bytes: 5 * MiB }, 3000); // the first bytes: at once
    view.show({ ...run, step: 'snapshot', bytes: 10 * MiB }, 4000); // within 5 s: not yet
    view.show({ ...run, step: 'snapshot', bytes: 15 * MiB }, 8000);
    view.show({ ...run, step: 'snapshot', bytes: 15 * MiB }, 13_000); // nothing moved
    view.show({ ...run, status: 'COMPLETED', step: 'done', bytes: 20 * MiB }, 14_000);
    view.finish(false);
    assert.ok(out.every((l) => l.endsWith('\n') && !l.includes('\r')));
    assert.deepEqual(
      out.map((l) => /(running|completed) {2}step (\w+)(?:.*?(\d+\.\d) MiB)?/.exec(l)!.slice(1).join(' ').trim()),
      ['running plan', 'running snapshot', 'running snapshot 5.0', 'running snapshot 15.0', 'completed done 20.0'],
    );
  });

  test('on a terminal: one line redrawn, cut to the width, erased before a result or kept by watch', () => {
    const out: string[] = [];
    const view = new ProgressView({ tty: true, write: (t) => out.push(t), columns: 40, plainIntervalMs: 5000 });
    view.show({ ...run, step: 'snapshot', bytes: MiB }, 0);
    view.show({ ...run, step: 'snapshot', bytes: MiB }, 1000);
    view.finish(false);
    assert.equal(out.length, 3);
    for (const line of out.slice(0, 2)) {
      assert.ok(line.startsWith('\r\x1b[2K') && !line.includes('\n'));
      assert.equal(line.length - '\r\x1b[2K'.length, 39);
    }
    assert.equal(out[2], '\r\x1b[2K', 'erased: the result prints on a clean line');
    view.finish(false);
    assert.equal(out.length, 3, 'nothing drawn, nothing to erase');
    view.show({ ...run, status: 'COMPLETED', step: 'done' }, 2000);
    view.finish(true);
    assert.equal(out.at(-1), '\n', "watch's last line stays");
  });
});
