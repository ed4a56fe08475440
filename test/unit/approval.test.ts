// The `approve` update's argument as the validator checks it, and what the report records and
// prints about an approval.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { approvalReport, IDENTITY_NOT_SENT, parseApprovalRequest } from '../../workflows/approval';
import { formatReport } from '../../workflows/report-text';
import type { RestoreReport } from '../../workflows/restore-types';

describe('approval: the approve update argument', () => {
  it('accepts the CLI form: approver, the client identity and selfApproved', () => {
    assert.deepEqual(parseApprovalRequest({ approver: ' alice ', identity: '4242@laptop', selfApproved: true }), {
      approver: 'alice',
      identity: '4242@laptop',
      selfApproved: true,
    });
  });

  it('accepts the UI form {"approver": "alice"} and records the identity as not sent', () => {
    assert.deepEqual(parseApprovalRequest({ approver: 'alice' }), {
      approver: 'alice',
      identity: IDENTITY_NOT_SENT,
      selfApproved: false,
    });
    assert.equal(IDENTITY_NOT_SENT, 'unknown (not sent)');
  });

  it('refuses a missing, empty, blank or non-string approver, saying what to send', () => {
    for (const bad of [undefined, null, 'alice', [], {}, { approver: '' }, { approver: '   ' }, { approver: 7 }]) {
      assert.throws(
        () => parseApprovalRequest(bad),
        /approve needs \{"approver": "<your name>"\}/,
        JSON.stringify(bad),
      );
    }
  });

  it('refuses an approver longer than 100 characters or with a newline (a forged report line)', () => {
    assert.doesNotThrow(() => parseApprovalRequest({ approver: 'a'.repeat(100) }));
    assert.throws(() => parseApprovalRequest({ approver: 'a'.repeat(101) }), /at most 100 characters/);
    assert.throws(
      () => parseApprovalRequest({ approver: 'alice\n  [PASS] everything' }),
      /must not contain control characters/,
    );
  });

  it('refuses an identity that is not a short printable string and a selfApproved that is not a boolean', () => {
    assert.throws(() => parseApprovalRequest({ approver: 'alice', identity: 42 }), /identity must be/);
    assert.throws(() => parseApprovalRequest({ approver: 'alice', identity: 'x'.repeat(201) }), /identity must be/);
    assert.throws(() => parseApprovalRequest({ approver: 'alice', identity: 'a\nb' }), /identity must be/);
    assert.throws(() => parseApprovalRequest({ approver: 'alice', selfApproved: 'yes' }), /selfApproved must be/);
  });
});

describe('approval: what the report records and prints', () => {
  const base: RestoreReport = {
    kind: 'restore',
    target: 'prod',
    source: 'prod',
    key: 'vsnap/prod/2026-12-01T03-54-59.334Z.snap',
    snapshotTakenAt: '2026-12-01T03:55:01.336Z',
    snapshotAgeSeconds: 60,
    dryRun: false,
    passed: true,
    checks: [],
    steps: [{ step: 'plan', seconds: 0.1 }],
  };
  const approval = { approver: 'alice', identity: '4242@laptop', selfApproved: false, at: '2026-12-01T04:00:00.000Z' };

  it('fills approvedBy (kept for older readers) and approval, or nothing when nobody approved', () => {
    assert.deepEqual(approvalReport(approval), { approvedBy: 'alice', approval });
    assert.deepEqual(approvalReport(undefined), {});
  });

  it('prints who approved, when and from which client, and says when the run was self-approved', () => {
    const text = formatReport({ ...base, ...approvalReport(approval) });
    assert.match(text, /^approved by alice at 2026-12-01T04:00:00.000Z from client 4242@laptop$/m);
    assert.doesNotMatch(text, /self-approved/);

    const self = formatReport({ ...base, ...approvalReport({ ...approval, selfApproved: true }) });
    assert.match(self, /^approved by alice at .* from client 4242@laptop \(self-approved: .*started the run.*\)$/m);
  });

  it('still prints a report that has only approvedBy', () => {
    assert.match(formatReport({ ...base, approvedBy: 'alice' }), /^approved by alice$/m);
    assert.doesNotMatch(formatReport(base), /approved by/);
  });
});
