// A planned snapshot object read from S3 through the checks it must pass on its way: SHA-256
// and size against the manifest, and the archive's structure. Shared by the verifying fetch and
// the restore, so Vault never receives a body that fails them (the last batch is held back).
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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
  // The plan's location: the primary (bucket and key) unless the restore reads a copy.
  const { bucket, key } = plan.location ?? plan;
  const { body } = await store.openSnapshot(bucket, key, signal);
  const verified = new VerifiedSnapshotStream(
    { key, sha256: plan.manifest.sha256, size: plan.manifest.size },
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

/**
 * Reads a stored object to its end through the same checks (SHA-256 and size against
 * `expected`, the archive's structure), discarding the bytes: proof that what S3 holds at
 * `bucket/key` is the snapshot the manifest describes (a copy at its destination). Throws
 * ChecksumMismatchError (with what was read) or ArchiveInvalidError.
 */
export async function verifyStoredObject(
  store: SnapshotStore,
  location: { bucket: string; key: string },
  expected: { sha256: string; size: number },
  heartbeat: Heartbeat,
  signal: AbortSignal,
): Promise<void> {
  const { body } = await store.openSnapshot(location.bucket, location.key, signal);
  const verified = new VerifiedSnapshotStream({ key: location.key, ...expected }, (bytes) => heartbeat.progress(bytes));
  await pipeline(body, verified, new Writable({ write: (_chunk, _enc, done) => done() }), { signal });
}
