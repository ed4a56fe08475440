// Custom search attributes on every vsnap run, so the Temporal UI can filter, e.g.
// `VsnapCluster = "prod" AND VsnapKind = "verify" AND ExecutionStatus = "Failed"`.
// A Temporal cluster must have them registered (the local stack does; see README "Schedules").
import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';

export const VsnapCluster = defineSearchAttributeKey('VsnapCluster', SearchAttributeType.KEYWORD);
export const VsnapKind = defineSearchAttributeKey('VsnapKind', SearchAttributeType.KEYWORD);

export type RunKind = 'backup' | 'restore' | 'verify';

export function runSearchAttributes(kind: RunKind, cluster: string | undefined): TypedSearchAttributes {
  return new TypedSearchAttributes([
    { key: VsnapKind, value: kind },
    ...(cluster ? [{ key: VsnapCluster, value: cluster }] : []),
  ]);
}
