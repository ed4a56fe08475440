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
    // The SDK sends `Expect: 100-continue` with every body of 2 MiB or more, and its HTTP
    // handler then opens a fresh connection that is closed after the response: every part of a
    // snapshot paid TCP and TLS handshakes, and a round trip waiting for the 100 before its body.
    // Without the header, parts go over the client's keep-alive connections. What the header
    // would save, a body sent to a request S3 refuses, is one part at most.
    expectContinueHeader: false,
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
