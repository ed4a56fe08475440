// A planned snapshot object read from S3 through the checks it must pass on its way: SHA-256
// and size against the manifest, and the archive's structure. Shared by the verifying fetch and
// the restore, so Vault never receives a body that fails them (the last batch is held back).
import type { SnapshotArchiveValidatorOptions } from '../archive/snapshot-archive';
import { VerifiedSnapshotStream } from '../archive/verified-snapshot-stream';
import type { Heartbeat } from '../progress-heartbeat';
import type { RestorePlan } from '../../workflows/restore-types';
import type { SnapshotStore } from './snapshot-store';

export async function openVerifiedSnapshot(
  store: SnapshotStore,
  plan: RestorePlan,
  heartbeat: Heartbeat,
  signal: AbortSignal,
  archiveOptions: SnapshotArchiveValidatorOptions = {},
) {
  const { body } = await store.openSnapshot(plan.bucket, plan.key, signal);
  const verified = new VerifiedSnapshotStream(
    { key: plan.key, sha256: plan.manifest.sha256, size: plan.manifest.size },
    (bytes) => heartbeat.progress(bytes),
    archiveOptions,
  );
  return { body, verified };
}
