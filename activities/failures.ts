// Maps the typed errors of the Vault, S3, credential and archive layers to Temporal
// ApplicationFailures with a stable `type`. Non-retryable where another attempt cannot help.
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { FailureType } from '../workflows/names';
import { ArchiveInvalidError } from './archive/snapshot-archive';
import { ChecksumMismatchError } from './archive/verified-snapshot-stream';
import { EphemeralDrillRefusedError } from './ephemeral/ephemeral-server';
import { KeySharesUnavailableError } from './keys/key-shares';
import { BucketAccessDeniedError, BucketNotFoundError } from './storage/snapshot-store';
import { KmsKeyUnusableError } from './storage/kms-key-check';
import { ObjectLockAccessDeniedError, ObjectLockNotEnabledError } from './storage/object-lock';
import { KeySharesRejectedError, SealUnavailableError } from './vault/generate-root';
import { VaultUnavailableError } from './vault/active-node';
import { VaultRequestError } from './vault/vault-errors';
import { CredentialsUnavailableError, VaultAuthError } from './vault/vault-login';
import { scrubSecrets } from './secret-scrubber';

export function failure(type: FailureType, message: string, nonRetryable = true): ApplicationFailure {
  return ApplicationFailure.create({ type, message: scrubSecrets(message), nonRetryable });
}

export interface FailureOptions {
  /** A bad archive is retryable in a backup (a new snapshot may be fine), not in a restore. */
  archiveRetryable?: boolean;
}

export function toActivityFailure(err: unknown, options: FailureOptions = {}): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof VaultAuthError) return failure(FailureType.VaultAuthFailed, err.message);
  if (err instanceof CredentialsUnavailableError) return failure(FailureType.CredentialsUnavailable, err.message);
  if (err instanceof VaultUnavailableError) {
    return failure(err.reason === 'sealed' ? FailureType.VaultSealed : FailureType.VaultNotInitialized, err.message);
  }
  if (err instanceof VaultRequestError && err.status === 403) {
    return failure(
      FailureType.VaultPermissionDenied,
      `${err.message}. The token's policy lacks a capability; compare it with deploy/vault/snapshot-agent-policy.hcl`,
    );
  }
  if (err instanceof ChecksumMismatchError) return failure(FailureType.ChecksumMismatch, err.message);
  if (err instanceof EphemeralDrillRefusedError) return failure(FailureType.EphemeralDrillRefused, err.message);
  if (err instanceof KeySharesRejectedError) return failure(FailureType.KeySharesRejected, err.message);
  if (err instanceof SealUnavailableError) return failure(FailureType.SealUnavailable, err.message);
  if (err instanceof KeySharesUnavailableError) return failure(FailureType.KeySharesUnavailable, err.message);
  if (err instanceof BucketNotFoundError) return failure(FailureType.BucketNotFound, err.message);
  if (err instanceof BucketAccessDeniedError) return failure(FailureType.StorageAccessDenied, err.message);
  if (err instanceof ObjectLockNotEnabledError) return failure(FailureType.ObjectLockNotEnabled, err.message);
  if (err instanceof ObjectLockAccessDeniedError) return failure(FailureType.StorageAccessDenied, err.message);
  if (err instanceof KmsKeyUnusableError) return failure(FailureType.KmsKeyUnusable, err.message);
  if (err instanceof ArchiveInvalidError)
    return failure(FailureType.ArchiveInvalid, err.message, !options.archiveRetryable);
  if (err instanceof Error) {
    // Retryable as is, but never with a message that could carry a secret.
    err.message = scrubSecrets(err.message);
  }
  return err;
}

/** Runs an activity body and converts what it throws. */
export async function withFailureMapping<T>(fn: () => Promise<T>, options?: FailureOptions): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    // Whatever a cancelled step was doing when the cancellation cut it (an aborted request, a
    // stream destroyed), it reports as cancelled, so the workflow sees a cancellation, not a failure.
    if (cancelled()) throw new CancelledFailure('the step was cancelled');
    throw toActivityFailure(err, options);
  }
}

function cancelled(): boolean {
  try {
    return Context.current().cancellationSignal.aborted;
  } catch {
    return false; // not running as an activity
  }
}
