// Timeouts and retries of vsnap's activities, one place for every workflow.
import { ActivityCancellationType, type ActivityOptions } from '@temporalio/workflow';

/** Short calls (plan, canary, checks, retention): retry transient failures a few times quickly. */
export const quickActivity: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
};

/**
 * Snapshot streams can run for hours; the heartbeat timeout notices a dead worker long before
 * startToClose would, and each retry streams afresh. These activities heartbeat every second,
 * through silent phases too (activities/progress-heartbeat.ts), so 30 s of silence means the
 * worker is gone (a SIGKILL, a lost node): another worker takes over after 30 s, not hours.
 */
export const streamingActivity: ActivityOptions = {
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 3 },
};

/** Notifications and records after a run: a few quick tries, never worth holding the run for. */
export const bestEffortActivity: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3 },
};

/**
 * Watching a busy cluster's lock until its holder is done: a poll every second inside the
 * activity, so the wait adds no history. Each watch ends within the hour and the workflow
 * starts another; a dead worker is noticed by the heartbeat. There is no deadline on the wait
 * (a backup waits for a long restore), so transient failures are retried without limit.
 */
export const lockWatchActivity: ActivityOptions = {
  startToCloseTimeout: '65 minutes',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
};

/**
 * Steps that act on a restore's target. A cancelled run waits until the step has stopped and
 * cleaned up (its own generate-root attempt cancelled, its token revoked) before it reports,
 * so "cancelled" never comes back while a step is still changing the target.
 */
export const targetStepActivity: ActivityOptions = {
  ...streamingActivity,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
};
