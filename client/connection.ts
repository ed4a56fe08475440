// The CLI's Temporal client: connection settings as the Temporal CLI reads them (see
// worker/temporal-connection.ts), flags first.
import { Client, Connection } from '@temporalio/client';
import { vsnapDataConverter } from '../worker/encryption/codec-keys';
import { temporalConnectConfig } from '../worker/temporal-connection';
import { DEFAULT_TASK_QUEUE } from '../workflows/names';

export interface ConnectionOptions {
  address?: string;
  namespace?: string;
  taskQueue?: string;
  profile?: string;
}

export interface VsnapClient {
  client: Client;
  taskQueue: string;
  close(): Promise<void>;
}

export async function connectTemporal(
  opts: ConnectionOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<VsnapClient> {
  const { connectionOptions, namespace } = temporalConnectConfig(opts, env);
  const connection = await Connection.connect({
    address: connectionOptions.address,
    ...(connectionOptions.tls !== undefined ? { tls: connectionOptions.tls } : {}),
    ...(connectionOptions.apiKey !== undefined ? { apiKey: connectionOptions.apiKey } : {}),
    ...(connectionOptions.metadata !== undefined ? { metadata: connectionOptions.metadata } : {}),
  });
  return {
    // The same encryption as the worker, so the CLI reads and writes what the worker does.
    client: new Client({ connection, namespace, dataConverter: await vsnapDataConverter(env) }),
    taskQueue: opts.taskQueue ?? env.VSNAP_TASK_QUEUE ?? DEFAULT_TASK_QUEUE,
    close: () => connection.close(),
  };
}
