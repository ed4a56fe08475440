// The restore drill: restore the latest (or a given) backup of a cluster into its drill
// cluster, check it, record the verdict next to the snapshot, and notify on failure.
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { bestEffortActivity } from './activity-options';
import { failIfChecksFailed, runRestore } from './restore-steps';
import { parseVerifyInput, PRIMARY_LOCATION, type VerifyInput } from './restore-input';
import type { RestoreReport } from './restore-types';
import { failureMessage } from './failure-chain';
import { formatReport } from './report-text';

const quick = proxyActivities<Activities>(bestEffortActivity);

export async function verify(input: VerifyInput = {}): Promise<RestoreReport> {
  const options = parseVerifyInput(input);
  const notify = async (text: string) => {
    if (!options.webhookUrl) return;
    // A notification that cannot be delivered must not hide the drill's own outcome.
    await quick.notifyWebhook({ url: options.webhookUrl, text }).catch(() => undefined);
  };
  let report: RestoreReport;
  try {
    report = await runRestore('verify', options);
  } catch (err) {
    await notify(`vsnap drill ${workflowInfo().workflowId} failed: ${failureMessage(err)}`);
    throw err;
  }
  const recorded = quick.recordVerification({
    source: report.source,
    key: report.key,
    record: {
      verifiedAt: new Date(Date.now()).toISOString(),
      passed: report.passed,
      workflowId: workflowInfo().workflowId,
      target: report.target,
      checks: report.checks,
      ...(report.recoverySeconds !== undefined ? { recoverySeconds: report.recoverySeconds } : {}),
    },
  });
  // The verdict is recorded next to the primary's manifest. A drill read from a copy may run
  // because the primary is unreachable: its verdict stands even when it cannot be recorded.
  const fromCopy = report.readFrom !== undefined && report.readFrom.location !== PRIMARY_LOCATION;
  await (fromCopy ? recorded.catch(() => undefined) : recorded);
  if (!report.passed) await notify(formatReport(report));
  else if (options.notifyOnSuccess) await notify(formatReport(report));
  failIfChecksFailed(report);
  return report;
}
