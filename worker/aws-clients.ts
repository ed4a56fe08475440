// AWS SDK clients for the worker. Endpoint, region and credentials come from the SDK's own
// chain (AWS_ENDPOINT_URL, AWS_REGION, IRSA web identity on EKS); vsnap adds only path-style
// addressing for S3-compatible stores that need it.
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { VsnapConfig } from './config';

export interface AwsClients {
  s3: S3Client;
  secretsManager: SecretsManagerClient;
  kms: KMSClient;
  destroy(): void;
}

export function createAwsClients(config: Pick<VsnapConfig, 'aws'>): AwsClients {
  const region = config.aws.region ? { region: config.aws.region } : {};
  const s3 = new S3Client({
    ...region,
    forcePathStyle: config.aws.s3ForcePathStyle,
    ...(config.aws.s3Endpoint ? { endpoint: config.aws.s3Endpoint } : {}),
  });
  const secretsManager = new SecretsManagerClient(region);
  const kms = new KMSClient(region);
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
