// The progress line `vsnap status` and `vsnap watch` print: pure formatting.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatProgress } from '../../client/progress';

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
