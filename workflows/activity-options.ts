// Timeouts and retries of vsnap's activities, one place for every workflow.
import type { ActivityOptions } from '@temporalio/workflow';

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
