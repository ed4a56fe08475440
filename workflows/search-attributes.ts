// Custom search attributes on every vsnap run, so the Temporal UI can filter, e.g.
// `VsnapCluster = "prod" AND VsnapKind = "verify" AND ExecutionStatus = "Failed"`.
// A Temporal cluster must have them registered (the local stack does; see README "Schedules").
import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';

export const VsnapCluster = defineSearchAttributeKey('VsnapCluster', SearchAttributeType.KEYWORD);
export const VsnapKind = defineSearchAttributeKey('VsnapKind', SearchAttributeType.KEYWORD);

/** The kinds of run an operator starts (CLI, schedules, UI). */
export type RunKind = 'backup' | 'restore' | 'verify' | 'recover';

/**
 * Every VsnapKind value: the runs, and `lock`, the per-cluster lock a run holds while it writes
 * (workflows/cluster-lock.ts). Apart from RunKind, so nothing starts or schedules a "lock" run.
 */
export type VsnapKindValue = RunKind | 'lock';

export function runSearchAttributes(kind: VsnapKindValue, cluster: string | undefined): TypedSearchAttributes {
  return new TypedSearchAttributes([
    { key: VsnapKind, value: kind },
    ...(cluster ? [{ key: VsnapCluster, value: cluster }] : []),
  ]);
}
