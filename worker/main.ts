// The worker process: `npm run worker` (or the container's entry point).
import './quiet-sdk-warnings';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { ConfigError, loadConfig } from './config';
import { createVsnapWorker } from './create-worker';
import { createLogger } from './logger';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  // Temporal SDK logs go through pino too, so one JSON stream carries everything.
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => {
      const fields = { sdk: entry.meta };
      if (entry.level === 'ERROR') logger.error(fields, entry.message);
      else if (entry.level === 'WARN') logger.warn(fields, entry.message);
      else logger.info(fields, entry.message);
    }),
  });
  const vsnap = await createVsnapWorker({
    config,
    logger,
    ...(process.env.VSNAP_WORKFLOW_BUNDLE ? { workflowBundlePath: process.env.VSNAP_WORKFLOW_BUNDLE } : {}),
  });
  logger.info(
    {
      taskQueue: config.temporal.taskQueue,
      namespace: vsnap.namespace,
      clusters: config.clusters.map((c) => c.name),
    },
    'vsnap worker started',
  );
  await vsnap.worker.run();
  await vsnap.shutdown();
  logger.info('vsnap worker stopped');
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  console.error(`vsnap worker failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
