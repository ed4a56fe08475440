// vsnap's own metrics, exported with the Temporal SDK's (one Prometheus endpoint per worker).
// Alert on them: no successful backup in 2x the interval, a failed drill (README "Metrics").
import type { MetricMeter } from '@temporalio/common';
import { ApplicationFailure } from '@temporalio/common';

export interface VsnapMetrics {
  lastSuccess: ReturnType<MetricMeter['createGauge']>;
  drillPassed: ReturnType<MetricMeter['createGauge']>;
  drillRecoverySeconds: ReturnType<MetricMeter['createGauge']>;
  snapshotSize: ReturnType<MetricMeter['createGauge']>;
  snapshotBytes: ReturnType<MetricMeter['createCounter']>;
  stepDuration: ReturnType<MetricMeter['createHistogram']>;
  stepFailures: ReturnType<MetricMeter['createCounter']>;
  wrappedTokenReuse: ReturnType<MetricMeter['createCounter']>;
}

export function createVsnapMetrics(meter: MetricMeter): VsnapMetrics {
  return {
    lastSuccess: meter.createGauge(
      'vsnap_last_success_timestamp_seconds',
      'int',
      's',
      'Unix time of the last successful backup (kind=backup) or passing drill (kind=verify), per cluster',
    ),
    drillPassed: meter.createGauge(
      'vsnap_drill_passed',
      'int',
      '1',
      '1 if the last recorded drill of a cluster passed, 0 if it failed',
    ),
    drillRecoverySeconds: meter.createGauge(
      'vsnap_drill_recovery_seconds',
      'float',
      's',
      "Recovery time of a cluster's last passing drill: from the start of the restore to every check passing",
    ),
    snapshotSize: meter.createGauge(
      'vsnap_snapshot_size_bytes',
      'int',
      'By',
      'Size of the last snapshot uploaded, per cluster',
    ),
    snapshotBytes: meter.createCounter('vsnap_snapshot_bytes', 'By', 'Snapshot bytes moved (direction=upload|restore)'),
    stepDuration: meter.createHistogram(
      'vsnap_step_duration_seconds',
      'float',
      's',
      'Duration of each activity (step)',
    ),
    stepFailures: meter.createCounter('vsnap_step_failures', '1', 'Failed activity attempts, by step and failure type'),
    wrappedTokenReuse: meter.createCounter(
      'vsnap_wrapped_token_reuse',
      '1',
      'Wrapped root tokens found already unwrapped by someone else (possible tampering), per cluster',
    ),
  };
}

type AnyActivity = (...args: never[]) => Promise<unknown>;

/** Wraps every activity so its duration and failures are counted under its name (the step). */
export function instrumentActivities<T extends Record<string, AnyActivity>>(activities: T, metrics: VsnapMetrics): T {
  const wrapped: Record<string, AnyActivity> = {};
  for (const [step, fn] of Object.entries(activities)) {
    wrapped[step] = async (...args: never[]) => {
      const began = Date.now();
      try {
        return await fn(...args);
      } catch (err) {
        const type = err instanceof ApplicationFailure && err.type ? err.type : 'retryable';
        metrics.stepFailures.add(1, { step, type });
        throw err;
      } finally {
        metrics.stepDuration.record((Date.now() - began) / 1000, { step });
      }
    };
  }
  return wrapped as T;
}
