// The restore drill: restore the latest (or a given) backup of a cluster into its drill
// cluster, check it, record the verdict next to the snapshot, and notify on failure.
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { bestEffortActivity } from './activity-options';
import { failIfChecksFailed, runRestore } from './restore-steps';
import { parseVerifyInput, type VerifyInput } from './restore-input';
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
  await quick.recordVerification({
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
  if (!report.passed) await notify(formatReport(report));
  else if (options.notifyOnSuccess) await notify(formatReport(report));
  failIfChecksFailed(report);
  return report;
}
