// The restore workflow: restore a snapshot into a target cluster (with approval when the
// target is protected), then prove the restored data is the data that was backed up.
import { runRestore, failIfChecksFailed } from './restore-steps';
import { parseRestoreInput, type RestoreInput } from './restore-input';
import type { RestoreReport } from './restore-types';

export async function restore(input: RestoreInput): Promise<RestoreReport> {
  const report = await runRestore('restore', parseRestoreInput(input));
  failIfChecksFailed(report);
  return report;
}
