// Approval of a restore into a protected target: the `approve` update, its validation and what
// the report records about it. Pure workflow code (runs in the sandbox).
import { condition, defineUpdate, setHandler } from '@temporalio/workflow';
import type { ApprovalRecord, RestoreReport } from './restore-types';

/** The `approve` update's argument, e.g. `{"approver": "alice"}` from the UI's Update form. */
export interface ApprovalRequest {
  /** Who approves: a person's name. */
  approver: string;
  /**
   * The approving client's Temporal identity (the vsnap CLI sends its connection's, `pid@host`
   * by default). Workflow code cannot read the caller's identity from the request itself, so the
   * client says it here.
   */
  identity?: string;
  /** Sent by `vsnap restore --self-approve`: the command that started the run approved it. */
  selfApproved?: boolean;
}

/** An approval as the run records it. */
export type Approval = ApprovalRecord;

export const approveUpdate = defineUpdate<{ approvedBy: string; approval: Approval }, [ApprovalRequest]>('approve');

/** What the report says when the client did not send its identity (e.g. the UI's Update form). */
export const IDENTITY_NOT_SENT = 'unknown (not sent)';
const MAX_APPROVER_LENGTH = 100;
const MAX_IDENTITY_LENGTH = 200;

/**
 * Checks an `approve` argument and returns it normalised; throws an Error naming the problem (the
 * update validator's rejection, which the caller sees and the history does not keep).
 */
export function parseApprovalRequest(raw: unknown): Required<ApprovalRequest> {
  const usage = 'approve needs {"approver": "<your name>"}: who approved is recorded';
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(usage);
  const { approver, identity, selfApproved } = raw as Record<string, unknown>;
  if (typeof approver !== 'string' || approver.trim() === '') throw new Error(usage);
  const name = approver.trim();
  if (name.length > MAX_APPROVER_LENGTH) {
    throw new Error(`approver must be a person's name of at most ${MAX_APPROVER_LENGTH} characters`);
  }
  // Control characters would let a name forge extra lines in the printed report.
  if (/\p{Cc}/u.test(name)) throw new Error('approver must not contain control characters (newlines, tabs, ...)');
  if (identity !== undefined) {
    if (typeof identity !== 'string' || identity.length > MAX_IDENTITY_LENGTH || /\p{Cc}/u.test(identity)) {
      throw new Error(`identity must be a client identity of at most ${MAX_IDENTITY_LENGTH} printable characters`);
    }
  }
  if (selfApproved !== undefined && typeof selfApproved !== 'boolean') {
    throw new Error('selfApproved must be true or false');
  }
  return {
    approver: name,
    identity: identity?.trim() || IDENTITY_NOT_SENT,
    selfApproved: selfApproved === true,
  };
}

/** The report's fields about an approval: none when nobody approved. */
export function approvalReport(approval: Approval | undefined): Pick<RestoreReport, 'approvedBy' | 'approval'> {
  return approval ? { approvedBy: approval.approver, approval } : {};
}

export interface ApprovalGate {
  /** The approval received so far, if any. */
  current(): Approval | undefined;
  /** Waits up to `timeoutMs` for an approval; true when one arrived. */
  wait(timeoutMs: number): Promise<boolean>;
  /** The report's `approvedBy` and `approval` fields (empty when nobody approved). */
  report(): Pick<RestoreReport, 'approvedBy' | 'approval'>;
}

/**
 * Registers the `approve` update. `waiting()` says whether the run is at the approval step:
 * an approval sent at any other moment is refused, so nobody approves a run blind.
 */
export function acceptApprovals(kind: string, waiting: () => boolean, stepName: () => string): ApprovalGate {
  let approval: Approval | undefined;
  setHandler(
    approveUpdate,
    (request) => {
      // Date is the workflow clock here: deterministic on replay.
      approval = { ...parseApprovalRequest(request), at: new Date().toISOString() };
      return { approvedBy: approval.approver, approval };
    },
    {
      validator: (request: unknown) => {
        if (!waiting()) {
          throw new Error(`this ${kind} is not waiting for approval (it is at step "${stepName()}")`);
        }
        parseApprovalRequest(request);
      },
    },
  );
  return {
    current: () => approval,
    wait: (timeoutMs) => condition(() => approval !== undefined, timeoutMs),
    report: () => approvalReport(approval),
  };
}
