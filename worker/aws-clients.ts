// AWS SDK clients for the worker and the `vsnap snapshots` commands. Endpoint, region and
// credentials come from the SDK's own chain (AWS_ENDPOINT_URL, AWS_REGION, IRSA web identity on
// EKS); vsnap adds only path-style addressing for S3-compatible stores that need it, and the
// call log that VSNAP_AWS_CALL_LOG turns on (worker/aws-call-log.ts).
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { logAwsCalls } from './aws-call-log';
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
  const s3 = new S3Client({
    ...region,
    forcePathStyle: config.aws.s3ForcePathStyle,
    ...(config.aws.s3Endpoint ? { endpoint: config.aws.s3Endpoint } : {}),
  });
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
