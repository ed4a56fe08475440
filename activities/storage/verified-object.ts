// A planned snapshot object read from S3 through the checks it must pass on its way: SHA-256
// and size against the manifest, and the archive's structure. Shared by the verifying fetch and
// the restore, so Vault never receives a body that fails them (the last batch is held back).
import type { SnapshotArchiveValidatorOptions } from '../archive/snapshot-archive';
import { VerifiedSnapshotStream } from '../archive/verified-snapshot-stream';
import type { Heartbeat } from '../progress-heartbeat';
import type { VaultHttp } from '../vault/vault-http';
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
  body.on('error', (err) => verified.destroy(err));
  return { body, verified };
}

/**
 * Sends an opened snapshot to Vault's restore endpoint through its checks. When the checks
 * (or S3) fail the body, Vault sees an aborted request and discards it, and that failure is
 * the error thrown: a damaged object is ChecksumMismatch or ArchiveInvalid, not the aborted
 * request, which would read as Vault being unreachable and be retried. The caller can tell
 * from `verified.errored` that the body never reached Vault whole.
 */
export async function restoreVerifiedSnapshot(
  vault: VaultHttp,
  token: string,
  snapshot: Awaited<ReturnType<typeof openVerifiedSnapshot>>,
  force: boolean,
  signal: AbortSignal,
): Promise<void> {
  const { body, verified } = snapshot;
  await vault.restoreSnapshot(token, body.pipe(verified), force, signal).catch((err: unknown) => {
    throw verified.errored ?? err;
  });
}
