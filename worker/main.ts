// The worker process: `npm run worker` (or the container's entry point). On SIGTERM or SIGINT
// the SDK stops polling, lets in-flight activities run for VSNAP_SHUTDOWN_GRACE_SECONDS, then
// cancels them (an upload aborts its multipart upload; the activity is retried on another
// worker after its heartbeat times out), and the process exits 0.
import './quiet-sdk-warnings';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { ConfigError, loadConfig } from './config';
import { createVsnapWorker } from './create-worker';
import { startHealthServer } from './health-server';
import { createLogger } from './logger';
import { removeOrphanedServers } from '../activities/ephemeral/ephemeral-server';
import type { Logger } from 'pino';
import type { VsnapConfig } from './config';

const STEP_BUCKETS_SECONDS = [0.05, 0.25, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600];

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  Runtime.install({
    // Temporal SDK logs go through pino too, so one JSON stream carries everything.
    logger: new DefaultLogger('WARN', (entry) => {
      const fields = { sdk: entry.meta };
      if (entry.level === 'ERROR') logger.error(fields, entry.message);
      else if (entry.level === 'WARN') logger.warn(fields, entry.message);
      else logger.info(fields, entry.message);
    }),
    ...(config.metricsAddress
      ? {
          telemetryOptions: {
            metrics: {
              prometheus: {
                bindAddress: config.metricsAddress,
                // Seconds everywhere (the SDK's own durations too), and buckets that fit steps
                // lasting from a fraction of a second (plan) to hours (a large upload).
                useSecondsForDurations: true,
                histogramBucketOverrides: { vsnap_step_duration_seconds: STEP_BUCKETS_SECONDS },
              },
            },
          },
        }
      : {}),
  });
  const vsnap = await createVsnapWorker({
    config,
    logger,
    ...(process.env.VSNAP_WORKFLOW_BUNDLE ? { workflowBundlePath: process.env.VSNAP_WORKFLOW_BUNDLE } : {}),
  });
  await removeOrphanedDrillServers(config, logger);
  const health = config.healthAddress
    ? await startHealthServer(config.healthAddress, () => vsnap.worker.getState() === 'RUNNING')
    : undefined;
  logger.info(
    {
      taskQueue: config.temporal.taskQueue,
      namespace: vsnap.namespace,
      deployment: config.deployment ?? 'unversioned',
      clusters: config.clusters.map((c) => c.name),
      metrics: config.metricsAddress ?? 'off',
      health: config.healthAddress ?? 'off',
    },
    'vsnap worker started',
  );
  await vsnap.worker.run();
  await vsnap.shutdown();
  health?.close();
  logger.info('vsnap worker stopped');
}

/**
 * Throwaway drill servers a killed worker left behind (its container restarted, its emptyDir
 * kept): removed at start, before any drill runs. A directory another live worker owns stays.
 */
async function removeOrphanedDrillServers(config: VsnapConfig, logger: Logger): Promise<void> {
  const dataDirs = new Set(config.clusters.flatMap((c) => (c.drill ? [c.drill.ephemeral.dataDir] : [])));
  for (const dataDir of dataDirs) {
    try {
      const removed = await removeOrphanedServers(dataDir);
      if (removed.length > 0)
        logger.warn({ dataDir, removed }, 'removed throwaway drill servers a stopped worker left');
    } catch (err) {
      logger.warn({ dataDir, err: (err as Error).message }, 'could not look for leftover throwaway drill servers');
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    console.error(`vsnap worker failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
