// A SeaweedFS S3 store of a test's own (`weed mini`, as scripts/with-seaweedfs.sh runs it), for
// what moto does not model: moto ignores Object Lock on multipart uploads (the snapshot itself),
// SeaweedFS locks them and refuses to delete a locked version, as AWS does. It accepts the
// stack's AWS credentials; it has no KMS, so clusters stored there set no kmsKeyId.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { until } from './worker-process';
import { repoRoot, stackEnv } from './stack';

export interface SeaweedFs {
  endpoint: string;
  /** A client of this store, signed with the stack's credentials. */
  s3: S3Client;
  stop(): Promise<void>;
}

/**
 * Starts weed with its S3 gateway on `basePort` and its other services on basePort+1 to +21,
 * its data under `dir`. Stops only the process it started.
 */
export async function startSeaweedFs(basePort: number, dir: string): Promise<SeaweedFs> {
  mkdirSync(join(dir, 'data'), { recursive: true });
  const identities = {
    identities: [
      {
        name: 'vsnap',
        credentials: [{ accessKey: stackEnv.AWS_ACCESS_KEY_ID, secretKey: stackEnv.AWS_SECRET_ACCESS_KEY }],
        actions: ['Admin', 'Read', 'List', 'Tagging', 'Write'],
      },
    ],
  };
  writeFileSync(join(dir, 's3.json'), JSON.stringify(identities), { mode: 0o600 });
  const port = (offset: number) => String(basePort + offset);
  // AWS_* variables change how weed authenticates requests: it runs without any.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  const weed: ChildProcess = spawn(
    join(repoRoot, '.tools', 'venv', 'bin', 'weed'),
    [
      'mini',
      `-dir=${join(dir, 'data')}`,
      '-ip=127.0.0.1',
      '-ip.bind=127.0.0.1',
      `-s3.port=${port(0)}`,
      `-s3.port.grpc=${port(1)}`,
      `-master.port=${port(10)}`,
      `-master.port.grpc=${port(11)}`,
      `-volume.port=${port(12)}`,
      `-volume.port.grpc=${port(13)}`,
      `-filer.port=${port(14)}`,
      `-filer.port.grpc=${port(15)}`,
      '-s3.port.iceberg=0',
      '-s3.port.lance=0',
      '-webdav=false',
      '-admin.ui=false',
      `-admin.port=${port(20)}`,
      `-admin.port.grpc=${port(21)}`,
      '-master.volumeSizeLimitMB=64',
      '-master.telemetry=false',
      `-s3.config=${join(dir, 's3.json')}`,
      '-s3.autoCreateBucket=false',
    ],
    { env, stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => weed.on('exit', () => resolve()));
  const endpoint = `http://127.0.0.1:${port(0)}`;
  const stop = async () => {
    weed.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (weed.exitCode === null) weed.kill('SIGKILL');
    // weed leaves its unix sockets behind, named by port: only ours are removed.
    const ours = new Set(Array.from({ length: 22 }, (_, i) => String(basePort + i)));
    for (const f of readdirSync('/tmp').filter((f) => /^seaweedfs-.*-(\d+)\.sock$/.exec(f)?.[1] !== undefined)) {
      if (ours.has(/-(\d+)\.sock$/.exec(f)![1])) rmSync(join('/tmp', f), { force: true });
    }
  };
  try {
    await until('SeaweedFS answered /healthz', async () => (await fetch(`${endpoint}/healthz`)).ok, 60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  const s3 = new S3Client({ endpoint, forcePathStyle: true, region: stackEnv.AWS_REGION });
  return { endpoint, s3, stop };
}

/** Buckets the Object Lock tests create (test/iam judges calls to them against the shipped policies). */
export const LOCK_BUCKET_PREFIX = 'vsnap-object-lock-';

/** Creates a bucket with Object Lock enabled (and so versioning). */
export async function createLockBucket(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(
    new CreateBucketCommand({
      Bucket: bucket,
      ObjectLockEnabledForBucket: true,
      CreateBucketConfiguration: { LocationConstraint: stackEnv.AWS_REGION as 'eu-west-3' },
    }),
  );
}
