// Wires config, AWS clients, logger and activities into a Temporal worker. Used by the worker
// entry point and by the tests (which run the same worker against the local stack).
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from '../activities';
import { createVsnapMetrics } from '../activities/metrics';
import { vsnapDataConverter } from './encryption/codec-keys';
import { temporalConnectConfig } from './temporal-connection';
import { SnapshotStore } from '../activities/storage/snapshot-store';
import { createAwsClients, type AwsClients } from './aws-clients';
import type { VsnapConfig } from './config';
import { workerDeploymentOptions } from './versioning';

export interface VsnapWorker {
  worker: Worker;
  connection: NativeConnection;
  /** The namespace the worker polls (from env, the envconfig profile, or "default"). */
  namespace: string;
  aws: AwsClients;
  /** Stops polling, waits for in-flight work, closes connections. */
  shutdown(): Promise<void>;
}

export interface CreateWorkerOptions {
  config: VsnapConfig;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** A pre-built workflow bundle (production image); otherwise workflows are bundled at start. */
  workflowBundlePath?: string;
}

export async function createVsnapWorker(options: CreateWorkerOptions): Promise<VsnapWorker> {
  const { config, logger } = options;
  const aws = createAwsClients(config, 'worker', options.env ?? process.env);
  const activities = createActivities({
    config,
    store: new SnapshotStore(aws.s3),
    secretsManager: aws.secretsManager,
    kms: aws.kms,
    logger,
    env: options.env ?? process.env,
    metrics: createVsnapMetrics(Runtime.instance().metricMeter),
  });
  // TLS, API key and profiles exactly as the Temporal CLI reads them (TEMPORAL_* env, TOML profile).
  const { connectionOptions, namespace } = temporalConnectConfig(
    {
      ...(config.temporal.address ? { address: config.temporal.address } : {}),
      ...(config.temporal.namespace ? { namespace: config.temporal.namespace } : {}),
    },
    options.env ?? process.env,
  );
  const connection = await NativeConnection.connect(connectionOptions);
  const deploymentOptions = workerDeploymentOptions(config.deployment);
  const worker = await Worker.create({
    connection,
    dataConverter: await vsnapDataConverter(options.env ?? process.env),
    namespace,
    taskQueue: config.temporal.taskQueue,
    activities,
    // Cancellation reaches an activity with its next heartbeat; keep that prompt for restores.
    maxHeartbeatThrottleInterval: '2s',
    shutdownGraceTime: `${config.shutdownGraceSeconds}s`,
    defaultHeartbeatThrottleInterval: '2s',
    // Versioned (runs pinned to this build) when the image names a build id; unversioned otherwise.
    ...(deploymentOptions ? { workerDeploymentOptions: deploymentOptions } : {}),
    ...(options.workflowBundlePath
      ? { workflowBundle: { codePath: options.workflowBundlePath } }
      : { workflowsPath: require.resolve('../workflows') }),
  });
  return {
    worker,
    connection,
    namespace,
    aws,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await connection.close().catch(() => undefined);
      aws.destroy();
    },
  };
}
