// The pure parts of the cluster lock (workflows/cluster-lock.ts): the lock's id, who holds a
// described lock, and what a run refused with ClusterBusy tells the operator.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clusterBusyMessage, clusterLockId, holderOf } from '../../workflows/cluster-lock';

describe('cluster lock', () => {
  it('is named after the task queue and the cluster, so each deployment and each test worker locks on its own', () => {
    assert.equal(clusterLockId('vsnap', 'prod'), 'vsnap-lock-prod');
    assert.notEqual(clusterLockId('test-a', 'prod'), clusterLockId('test-b', 'prod'));
  });

  it('names its holder from the server (the parent run) and the memo (its kind)', () => {
    const memo = { vsnapCluster: 'prod', vsnapLockHolder: 'from-memo', vsnapLockHolderKind: 'restore' };
    assert.deepEqual(holderOf({ runId: 'r1', parentWorkflowId: 'restore-prod-1', memo }), {
      workflowId: 'restore-prod-1',
      kind: 'restore',
    });
    assert.deepEqual(holderOf({ runId: 'r1', memo }), { workflowId: 'from-memo', kind: 'restore' });
    assert.deepEqual(holderOf({ runId: 'r1', memo: {} }), { workflowId: 'unknown', kind: 'operation' });
  });

  it('refuses with a message naming the running operation, the lock and the fix', () => {
    const message = clusterBusyMessage(
      'prod',
      { workflowId: 'verify-prod-2026-11-30T03-00-00-000Z', kind: 'verify' },
      'vsnap-lock-prod',
    );
    assert.match(message, /^cluster prod is busy: verify verify-prod-2026-11-30T03-00-00-000Z is writing to it/);
    assert.match(message, /\(lock vsnap-lock-prod\)/);
    assert.match(message, /wait for it to finish, or cancel it, and start again$/);
  });
});
