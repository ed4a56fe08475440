// The CLI's Temporal client: connection settings as the Temporal CLI reads them (see
// worker/temporal-connection.ts), flags first, and the payload codec (client/data-converter.ts).
import { Client, Connection } from '@temporalio/client';
import { temporalConnectConfig } from '../worker/temporal-connection';
import { DEFAULT_TASK_QUEUE } from '../workflows/names';
import { cliDataConverter, type CodecSettings } from './data-converter';

export interface ConnectionOptions {
  address?: string;
  namespace?: string;
  taskQueue?: string;
  profile?: string;
  codec?: CodecSettings;
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
  // The same encryption as the worker (its keys or its codec server), so the CLI reads and
  // writes what the worker does. Before connecting: a bad codec setting fails with nothing open.
  const dataConverter = await cliDataConverter(opts.codec ?? {}, namespace, env);
  const connection = await Connection.connect({
    address: connectionOptions.address,
    ...(connectionOptions.tls !== undefined ? { tls: connectionOptions.tls } : {}),
    ...(connectionOptions.apiKey !== undefined ? { apiKey: connectionOptions.apiKey } : {}),
    ...(connectionOptions.metadata !== undefined ? { metadata: connectionOptions.metadata } : {}),
  });
  return {
    client: new Client({ connection, namespace, dataConverter }),
    taskQueue: opts.taskQueue ?? env.VSNAP_TASK_QUEUE ?? DEFAULT_TASK_QUEUE,
    close: () => connection.close(),
  };
}
