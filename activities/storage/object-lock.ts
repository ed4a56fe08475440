// S3 Object Lock as vsnap uses it: the retention written on each snapshot and manifest, the
// bucket check at plan, and what retention reads before it deletes. On a lock bucket (always
// versioned) a delete without a version id only hides the object behind a delete marker and
// leaves its bytes billed, so vsnap deletes versions, and only once their lock has expired.
import type { ObjectLockConfig } from '../../config/cluster-schema';

export type ObjectLockMode = ObjectLockConfig['mode'];

/** The retention one write carries: the mode and the instant it ends. */
export interface ObjectLockRetention {
  mode: ObjectLockMode;
  retainUntil: Date;
}

const DAY_SECONDS = 24 * 60 * 60;

/**
 * The retention of an object written at `writtenAt`: `days` after it. `testSeconds`
 * (VSNAP_TEST_OBJECT_LOCK_SECONDS) replaces the days so a test can see a lock expire; S3's
 * own minimum is one day.
 */
export function retentionFor(lock: ObjectLockConfig, writtenAt: Date, testSeconds?: number): ObjectLockRetention {
  const seconds = testSeconds ?? lock.days * DAY_SECONDS;
  return { mode: lock.mode, retainUntil: new Date(writtenAt.getTime() + seconds * 1000) };
}

export class ObjectLockNotEnabledError extends Error {
  constructor(readonly bucket: string) {
    super(
      `S3 bucket "${bucket}" does not have Object Lock enabled, but the cluster's storage.objectLock asks for it: ` +
        'create the bucket with Object Lock enabled (deploy/kustomize/aws/bucket-object-lock.yaml; an existing ' +
        'bucket needs versioning first, and Object Lock can never be turned off again), or remove storage.objectLock',
    );
    this.name = 'ObjectLockNotEnabledError';
  }
}

/** S3 refused GetObjectLockConfiguration: the worker's role lacks the permission. */
export class ObjectLockAccessDeniedError extends Error {
  constructor(readonly bucket: string) {
    super(
      `S3 refused GetObjectLockConfiguration on "${bucket}" (403 AccessDenied): the worker's role needs ` +
        `s3:GetBucketObjectLockConfiguration on arn:aws:s3:::${bucket}; compare its policy with ` +
        'deploy/aws/vsnap-worker-iam-policy.json',
    );
    this.name = 'ObjectLockAccessDeniedError';
  }
}
