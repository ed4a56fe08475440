// AWS SDK clients for the worker and the `vsnap snapshots` commands. Endpoint, region and
// credentials come from the SDK's own chain (AWS_ENDPOINT_URL, AWS_REGION, IRSA web identity on
// EKS); vsnap adds only path-style addressing for S3-compatible stores that need it, and the
// call log that VSNAP_AWS_CALL_LOG turns on (worker/aws-call-log.ts).
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { StorageCopyConfig } from '../config/cluster-schema';
import { awsCallLogPlugin, logAwsCalls } from './aws-call-log';
import type { VsnapConfig } from './config';

export interface AwsClients {
  s3: S3Client;
  secretsManager: SecretsManagerClient;
  kms: KMSClient;
  destroy(): void;
}

/** `actor` names the caller in the call log: "worker", "vsnap snapshots list", ... */
export function createAwsClients(
  config: Pick<VsnapConfig, 'aws'>,
  actor: string,
  env: NodeJS.ProcessEnv = process.env,
): AwsClients {
  const region = config.aws.region ? { region: config.aws.region } : {};
  const s3 = createS3Client(config, region);
  const secretsManager = new SecretsManagerClient(region);
  const kms = new KMSClient(region);
  for (const client of [s3, secretsManager, kms]) logAwsCalls(client, actor, env);
  return {
    s3,
    secretsManager,
    kms,
    destroy() {
      s3.destroy();
      secretsManager.destroy();
      kms.destroy();
    },
  };
}

/**
 * The S3 client of one further copy: in the copy's region and, when the copy names a role (a
 * bucket in another account), with that role's temporary credentials, assumed from the worker's
 * own and renewed by the SDK before they expire. Its calls are logged as `actor` + the copy.
 */
export function createCopyS3Client(
  config: Pick<VsnapConfig, 'aws'>,
  copy: StorageCopyConfig,
  actor: string,
  env: NodeJS.ProcessEnv = process.env,
): S3Client {
  const copyActor = `${actor} copy ${copy.name}`;
  // AssumeRole itself is made with the worker's own credentials: logged without a role.
  const stsLog = awsCallLogPlugin(copyActor, () => Promise.resolve(copy.region), env);
  const s3 = createS3Client(config, {
    region: copy.region,
    // A copy is read back whole and checked against the manifest's SHA-256, so the SDK's own
    // response check adds nothing, and it misfires on moto: a CopyObject of a multipart source
    // keeps the source's composite CRC32 but reports it without AWS's "-N" suffix, which the SDK
    // then takes for a full-object CRC32 that the correct bytes do not match.
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(copy.roleArn
      ? {
          credentials: fromTemporaryCredentials({
            params: { RoleArn: copy.roleArn, RoleSessionName: `vsnap-copy-${copy.name}`, DurationSeconds: 3600 },
            clientConfig: { region: copy.region },
            ...(stsLog ? { clientPlugins: [stsLog] } : {}),
          }),
        }
      : {}),
  });
  logAwsCalls(s3, copyActor, env, copy.roleArn);
  return s3;
}

function createS3Client(
  config: Pick<VsnapConfig, 'aws'>,
  options: ConstructorParameters<typeof S3Client>[0],
): S3Client {
  return new S3Client({
    ...options,
    // The SDK sends `Expect: 100-continue` with every body of 2 MiB or more, and its HTTP
    // handler then opens a fresh connection that is closed after the response: every part of a
    // snapshot paid TCP and TLS handshakes, and a round trip waiting for the 100 before its body.
    // Without the header, parts go over the client's keep-alive connections. What the header
    // would save, a body sent to a request S3 refuses, is one part at most.
    expectContinueHeader: false,
    forcePathStyle: config.aws.s3ForcePathStyle,
    ...(config.aws.s3Endpoint ? { endpoint: config.aws.s3Endpoint } : {}),
  });
}
