// The names operators and other code refer to: workflow types, the task queue, failure types.
// Pure constants, safe to import from workflow code, the worker, the CLI and tests.

export const DEFAULT_TASK_QUEUE = 'vsnap';

export const WorkflowType = {
  backup: 'backup',
  restore: 'restore',
  verify: 'verify',
} as const;

/**
 * Stable `ApplicationFailure.type` values. Non-retryable ones describe problems that another
 * attempt cannot fix (bad input, bad credentials, a corrupt archive); tests and retry policies
 * match on them.
 */
export const FailureType = {
  InvalidInput: 'InvalidInput',
  UnknownCluster: 'UnknownCluster',
  VaultAuthFailed: 'VaultAuthFailed',
  VaultPermissionDenied: 'VaultPermissionDenied',
  VaultSealed: 'VaultSealed',
  VaultNotInitialized: 'VaultNotInitialized',
  BucketNotFound: 'BucketNotFound',
  StorageAccessDenied: 'StorageAccessDenied',
  KmsKeyUnusable: 'KmsKeyUnusable',
  ArchiveInvalid: 'ArchiveInvalid',
  CredentialsUnavailable: 'CredentialsUnavailable',
  KeySharesUnavailable: 'KeySharesUnavailable',
  KeySharesRejected: 'KeySharesRejected',
  SealUnavailable: 'SealUnavailable',
  SnapshotNotFound: 'SnapshotNotFound',
  ChecksumMismatch: 'ChecksumMismatch',
  ApprovalTimeout: 'ApprovalTimeout',
  CheckFailed: 'CheckFailed',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Failure types that no retry can fix. */
export const NON_RETRYABLE_FAILURES: FailureType[] = Object.values(FailureType);
