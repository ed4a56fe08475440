// Wires config, AWS clients, logger and activities into a Temporal worker. Used by the worker
// entry point and by the tests (which run the same worker against the local stack).
import type { S3Client } from '@aws-sdk/client-s3';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from '../activities';
import { createVsnapMetrics } from '../activities/metrics';
import { vsnapDataConverter } from './encryption/codec-keys';
import { temporalConnectConfig } from './temporal-connection';
import { SnapshotStore } from '../activities/storage/snapshot-store';
import type { StorageCopyConfig } from '../config/cluster-schema';
import { createAwsClients, createCopyS3Client, type AwsClients } from './aws-clients';
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
  // One client per copy (its region, its role), made when first needed and kept.
  const copyStores = new Map<string, { s3: S3Client; store: SnapshotStore }>();
  const copyStore = (copy: StorageCopyConfig): SnapshotStore => {
    const key = JSON.stringify([copy.region, copy.roleArn ?? '']);
    let entry = copyStores.get(key);
    if (!entry) {
      const s3 = createCopyS3Client(config, copy, 'worker', options.env ?? process.env);
      entry = { s3, store: new SnapshotStore(s3) };
      copyStores.set(key, entry);
    }
    return entry.store;
  };
  const activities = createActivities({
    config,
    store: new SnapshotStore(aws.s3),
    copyStore,
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
      for (const { s3 } of copyStores.values()) s3.destroy();
    },
  };
}
