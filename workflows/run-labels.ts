// Every run labels itself: the search attributes the UI filters on are set by the workflow, so runs started from the Temporal UI, `temporal workflow start` or a schedule
// carry them exactly as runs started by the vsnap CLI do.
import { upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { type RunKind, VsnapCluster, VsnapKind } from './search-attributes';

/** Sets VsnapKind at once and VsnapCluster once the cluster is known; values already set are left alone. */
export function labelRun(kind: RunKind, cluster?: string): void {
  const current = workflowInfo().typedSearchAttributes;
  const updates = [
    ...(current.get(VsnapKind) === kind ? [] : [{ key: VsnapKind, value: kind }]),
    ...(cluster && current.get(VsnapCluster) !== cluster ? [{ key: VsnapCluster, value: cluster }] : []),
  ];
  if (updates.length > 0) upsertSearchAttributes(updates);
}
