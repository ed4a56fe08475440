// The stack's Temporal dev server and moto (S3, KMS, Secrets Manager), and the AWS seed.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type BucketLocationConstraint, CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { aws, codecKeysFile, ports, repoRoot, stackDir, toolsBin } from './layout';
import { logFile, runningPid, type ServerProcess, startProcess, waitUntil } from './processes';

/** Custom search attributes vsnap sets on every run, so the UI can filter by cluster and kind. */
export const SEARCH_ATTRIBUTES = ['VsnapCluster=Keyword', 'VsnapKind=Keyword'];

export const temporalProcess: ServerProcess = {
  name: 'temporal',
  dir: join(stackDir, 'temporal'),
  command: join(toolsBin, 'temporal'),
  args: [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(ports.temporal),
    '--ui-port',
    String(ports.temporalUi),
    '--db-filename',
    join(stackDir, 'temporal', 'temporal.db'),
    '--log-level',
    'warn',
    // The UI decodes vsnap's encrypted payloads through the stack's codec server, so a run's
    // input, result and failures read as JSON there rather than as ciphertext.
    '--ui-codec-endpoint',
    `http://127.0.0.1:${ports.codec}`,
    ...SEARCH_ATTRIBUTES.flatMap((a) => ['--search-attribute', a]),
  ],
};

export const motoProcess: ServerProcess = {
  name: 'moto',
  dir: join(stackDir, 'moto'),
  command: join(toolsBin, 'moto_server'),
  args: ['-H', '127.0.0.1', '-p', String(ports.moto)],
};

/**
 * `vsnap codec-server` with the stack's payload keys, on loopback with no token: the dev
 * server's UI has no login to pass one. CORS lets only the stack's UI call it.
 */
export const codecServerProcess: ServerProcess = {
  name: 'codec-server',
  dir: join(stackDir, 'codec-server'),
  command: process.execPath,
  args: [
    join(repoRoot, 'bin', 'vsnap.js'),
    'codec-server',
    '--host',
    '127.0.0.1',
    '--port',
    String(ports.codec),
    '--ui-origin',
    `http://127.0.0.1:${ports.temporalUi}`,
    '--ui-origin',
    `http://localhost:${ports.temporalUi}`,
  ],
  env: { VSNAP_CODEC_KEYS_FILE: codecKeysFile },
};

export const temporalAddress = `127.0.0.1:${ports.temporal}`;
export const codecEndpoint = `http://127.0.0.1:${ports.codec}`;
export const motoEndpoint = `http://127.0.0.1:${ports.moto}`;

const run = promisify(execFile);

export async function ensureTemporal(): Promise<void> {
  if (runningPid(temporalProcess) === undefined) startProcess(temporalProcess);
  await waitUntil(
    `temporal (gRPC ${temporalAddress})`,
    async () => {
      const { stdout } = await run(join(toolsBin, 'temporal'), [
        'operator',
        'cluster',
        'health',
        '--address',
        temporalAddress,
      ]);
      return stdout.includes('SERVING');
    },
    { timeoutMs: 60_000, log: logFile(temporalProcess) },
  );
  await waitUntil(
    `temporal web UI (http://127.0.0.1:${ports.temporalUi})`,
    async () => (await fetch(`http://127.0.0.1:${ports.temporalUi}/`)).ok,
    { timeoutMs: 30_000, log: logFile(temporalProcess) },
  );
}

export async function ensureCodecServer(): Promise<void> {
  if (runningPid(codecServerProcess) === undefined) startProcess(codecServerProcess);
  await waitUntil(
    `vsnap codec-server (${codecEndpoint})`,
    async () => {
      const res = await fetch(`${codecEndpoint}/decode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-namespace': 'default' },
        body: '{"payloads":[]}',
      });
      return res.ok;
    },
    { timeoutMs: 30_000, log: logFile(codecServerProcess) },
  );
}

export function awsClientConfig() {
  return {
    region: aws.region,
    endpoint: motoEndpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: aws.accessKeyId, secretAccessKey: aws.secretAccessKey },
  };
}

export async function ensureMoto(): Promise<void> {
  if (runningPid(motoProcess) === undefined) startProcess(motoProcess);
  const s3 = new S3Client(awsClientConfig());
  await waitUntil(`moto (${motoEndpoint})`, async () => (await fetch(`${motoEndpoint}/moto-api/`)).ok, {
    timeoutMs: 30_000,
    log: logFile(motoProcess),
  });
  s3.destroy();
}

async function putSecret(sm: SecretsManagerClient, name: string, value: unknown): Promise<void> {
  const SecretString = JSON.stringify(value);
  try {
    await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString }));
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
    await sm.send(new CreateSecretCommand({ Name: name, SecretString }));
  }
}

export interface AwsSeed {
  kmsKeyId: string;
}

/**
 * The bucket, the KMS key and the Secrets Manager secrets. moto keeps state in memory, so
 * this runs on every `up` and converges whether moto was just restarted or not.
 */
export async function seedAws(secrets: {
  agent: Record<string, string>;
  /** Each cluster's key-shares secret, as it is stored. */
  keyShares: Record<string, Record<string, unknown>>;
}): Promise<AwsSeed> {
  const config = awsClientConfig();
  const s3 = new S3Client(config);
  const kms = new KMSClient(config);
  const sm = new SecretsManagerClient(config);
  try {
    try {
      await s3.send(new HeadBucketCommand({ Bucket: aws.bucket }));
    } catch {
      await s3.send(
        new CreateBucketCommand({
          Bucket: aws.bucket,
          CreateBucketConfiguration: { LocationConstraint: aws.region as BucketLocationConstraint },
        }),
      );
    }
    let kmsKeyId: string;
    try {
      kmsKeyId = (await kms.send(new DescribeKeyCommand({ KeyId: aws.kmsAlias }))).KeyMetadata!.KeyId!;
    } catch {
      kmsKeyId = (await kms.send(new CreateKeyCommand({ Description: 'vsnap snapshots' }))).KeyMetadata!.KeyId!;
      await kms.send(new CreateAliasCommand({ AliasName: aws.kmsAlias, TargetKeyId: kmsKeyId }));
    }
    await putSecret(sm, aws.agentSecretId, secrets.agent);
    for (const [cluster, shares] of Object.entries(secrets.keyShares)) {
      await putSecret(sm, aws.keySharesSecretId(cluster), shares);
    }
    return { kmsKeyId };
  } finally {
    s3.destroy();
    kms.destroy();
    sm.destroy();
  }
}
