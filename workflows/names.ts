// The names operators and other code refer to: workflow types, the task queue, failure types.
// Pure constants, safe to import from workflow code, the worker, the CLI and tests.

export const DEFAULT_TASK_QUEUE = 'vsnap';

/** The drill target that names a cluster's throwaway server (its drill.ephemeral) rather than a configured cluster. */
export const EPHEMERAL_TARGET = 'ephemeral';

export const WorkflowType = {
  backup: 'backup',
  restore: 'restore',
  verify: 'verify',
  recover: 'recover',
  /** The per-cluster lock a backup, restore or drill holds while it writes (workflows/cluster-lock.ts). */
  clusterLock: 'clusterLock',
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
  /** The cluster's storage.objectLock asks for Object Lock, and its bucket does not have it enabled. */
  ObjectLockNotEnabled: 'ObjectLockNotEnabled',
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
  /** Another backup, restore or drill is writing to the cluster; the message names it. */
  ClusterBusy: 'ClusterBusy',
  /** Someone else's generate-root attempt is in progress on the target: vsnap leaves it alone. */
  GenerateRootInProgress: 'GenerateRootInProgress',
  /** A step's root token is gone (its worker died after unwrapping it): mint a new one. */
  RootTokenLost: 'RootTokenLost',
  /** A wrapping token was unwrapped by someone other than the step it was made for. */
  WrappedTokenReused: 'WrappedTokenReused',
  /** An ephemeral drill cannot run here: too little disk, a snapshot over its limit, an unfit binary. */
  EphemeralDrillRefused: 'EphemeralDrillRefused',
  /** A recover's target secret changed after the plan read it: nothing was written. */
  SecretChangedSincePlan: 'SecretChangedSincePlan',
  /** A recover's path holds no secret in the snapshot (or not the version asked for). */
  SecretNotFound: 'SecretNotFound',
  /**
   * A copy of the snapshot (storage.copies) could not be made or did not verify at its
   * destination; the message names the copy. The primary snapshot and manifest are kept.
   */
  CopyFailed: 'CopyFailed',
  /** No location of a snapshot (primary, copies) could be read intact; the message names each one's problem. */
  SnapshotUnavailable: 'SnapshotUnavailable',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Failure types that no retry can fix. */
export const NON_RETRYABLE_FAILURES: FailureType[] = Object.values(FailureType);
