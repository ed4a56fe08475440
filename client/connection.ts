// Temporal connection settings, named as the Temporal CLI names them, so an operator who
// knows `temporal` guesses `vsnap` right: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
// TEMPORAL_API_KEY, TEMPORAL_TLS_CERT/KEY, or the matching --address/--namespace flags.
import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { DEFAULT_TASK_QUEUE } from '../workflows/names';

export interface ConnectionOptions {
  address?: string;
  namespace?: string;
  taskQueue?: string;
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
  const address = opts.address ?? env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const namespace = opts.namespace ?? env.TEMPORAL_NAMESPACE ?? 'default';
  const apiKey = env.TEMPORAL_API_KEY;
  const certPath = env.TEMPORAL_TLS_CERT;
  const keyPath = env.TEMPORAL_TLS_KEY;
  const tls =
    certPath && keyPath
      ? { clientCertPair: { crt: readFileSync(certPath), key: readFileSync(keyPath) } }
      : apiKey || env.TEMPORAL_TLS === 'true'
        ? true
        : undefined;
  const connection = await Connection.connect({
    address,
    ...(tls ? { tls } : {}),
    ...(apiKey ? { apiKey } : {}),
  });
  return {
    client: new Client({ connection, namespace }),
    taskQueue: opts.taskQueue ?? env.VSNAP_TASK_QUEUE ?? DEFAULT_TASK_QUEUE,
    close: () => connection.close(),
  };
}
