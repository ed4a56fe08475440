// Approval of a restore into a protected target: the `approve` update, its validation and what
// the report records about it. Pure workflow code (runs in the sandbox).
import { condition, defineUpdate, setHandler } from '@temporalio/workflow';

export interface Approval {
  approver: string;
}

export const approveUpdate = defineUpdate<{ approvedBy: string }, [Approval]>('approve');

export interface ApprovalGate {
  /** The approval received so far, if any. */
  current(): Approval | undefined;
  /** Waits up to `timeoutMs` for an approval; true when one arrived. */
  wait(timeoutMs: number): Promise<boolean>;
}

/**
 * Registers the `approve` update. `waiting()` says whether the run is at the approval step:
 * an approval sent at any other moment is refused, so nobody approves a run blind.
 */
export function acceptApprovals(kind: string, waiting: () => boolean, stepName: () => string): ApprovalGate {
  let approval: Approval | undefined;
  setHandler(
    approveUpdate,
    (a) => {
      approval = a;
      return { approvedBy: a.approver };
    },
    {
      validator: (a: Approval | undefined) => {
        if (!waiting()) {
          throw new Error(`this ${kind} is not waiting for approval (it is at step "${stepName()}")`);
        }
        const approver: unknown = a?.approver;
        if (typeof approver !== 'string' || approver.trim() === '') {
          throw new Error('approve needs {"approver": "<your name>"}: who approved is recorded');
        }
      },
    },
  );
  return {
    current: () => approval,
    wait: (timeoutMs) => condition(() => approval !== undefined, timeoutMs),
  };
}
