// What a failed or cancelled restore tells the operator about its target: unchanged, changed,
// or possibly changed. Pure (workflow sandbox).
import { ApplicationFailure, isCancellation } from '@temporalio/workflow';
import { firstApplicationFailure } from './failure-chain';
import type { TargetChange } from './restore-types';

export function failureTypeOf(err: unknown): string | undefined {
  return firstApplicationFailure(err)?.type ?? undefined;
}

const TARGET_STATE: Record<TargetChange, (target: string) => string> = {
  no: (t) => `${t} is unchanged`,
  yes: (t) => `${t} WAS CHANGED: it holds the restored snapshot, but the steps after the restore did not finish`,
  unknown: (t) =>
    `${t} MAY HAVE BEEN CHANGED: the restore step stopped after it may have sent the snapshot; ` +
    'check the target, or run the restore again (restoring the same snapshot twice ends in the same state)',
};

/**
 * A failure says whether the target changed, in words an operator reads at 3 a.m. Its type
 * stays the cause's, so retry policies and alerts keep matching on it. A cancellation stays a
 * cancellation; the memo (vsnapTargetChanged) says the same for it.
 */
export function sayWhetherTargetChanged(err: unknown, target: string, changed: TargetChange): unknown {
  if (isCancellation(err)) return err;
  const cause = firstApplicationFailure(err);
  const type = cause?.type ?? 'RestoreFailed';
  const message = cause?.message ?? (err instanceof Error ? err.message : String(err));
  return ApplicationFailure.create({
    type,
    message: `${message} (target ${TARGET_STATE[changed](target)})`,
    nonRetryable: true,
    details: [{ targetChanged: changed }],
    cause: err instanceof Error ? err : undefined,
  });
}
