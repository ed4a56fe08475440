// A backup encrypts its object with SSE-KMS, and S3 asks KMS for a data key on the worker's
// behalf at the first byte. Asking KMS for one ourselves at plan time turns a key that is
// missing, disabled or not granted to the worker into a clear error before anything is written.
import { GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';

export class KmsKeyUnusableError extends Error {
  constructor(keyId: string, reason: string) {
    super(
      `storage.kmsKeyId "${keyId}" cannot encrypt snapshots (${reason}); give the worker's role ` +
        `kms:GenerateDataKey and kms:Decrypt on it (deploy/aws/vsnap-worker-iam-policy.json), enable it, ` +
        `or fix storage.kmsKeyId`,
    );
    this.name = 'KmsKeyUnusableError';
  }
}

const UNUSABLE = new Set([
  'AccessDeniedException',
  'DisabledException',
  'NotFoundException',
  'KMSInvalidStateException',
  'InvalidKeyUsageException',
  'KeyUnavailableException',
]);

export async function assertKmsKeyUsable(kms: KMSClient, keyId: string): Promise<void> {
  try {
    await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
  } catch (err) {
    const name = (err as { name?: string }).name ?? '';
    if (UNUSABLE.has(name)) throw new KmsKeyUnusableError(keyId, `${name}: ${(err as Error).message}`);
    throw err;
  }
}
