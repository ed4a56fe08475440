// What a failure says to people: the first ApplicationFailure in its cause chain, which a
// workflow may have wrapped around an activity's with what only it knows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { describeFailure, failureMessage } from '../../workflows/failure-chain';

const fromActivity = ApplicationFailure.create({ type: 'VaultSealed', message: 'Vault at x is sealed' });
const activity = new ActivityFailure(
  'activity failed',
  'restoreSnapshot',
  '3',
  RetryState.NON_RETRYABLE_FAILURE,
  'worker',
  fromActivity,
);

test('a workflow wrapping an activity failure is read first: its type and its fuller message', () => {
  const wrapped = ApplicationFailure.create({
    type: 'VaultSealed',
    message: 'Vault at x is sealed (target drill MAY HAVE BEEN CHANGED: ...)',
    cause: activity,
  });
  assert.equal(describeFailure(wrapped), 'VaultSealed: Vault at x is sealed (target drill MAY HAVE BEEN CHANGED: ...)');
});

test("an activity's failure is read through the ActivityFailure around it", () => {
  assert.equal(describeFailure(activity), 'VaultSealed: Vault at x is sealed');
});

test('without an ApplicationFailure, the innermost message', () => {
  const inner = new Error('socket hang up');
  const outer = new Error('outer', { cause: inner });
  assert.equal(failureMessage(outer), 'socket hang up');
  assert.equal(describeFailure(outer), 'socket hang up');
});
