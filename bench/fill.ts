// Fills a Vault's KV v2 mount with incompressible data, through the normal HTTP API, up to a
// target size; data already there from an earlier run is reused, extra data is destroyed.
// Each blob is one KV secret of BLOB_BYTES base64 characters: under Raft's 1 MiB entry limit,
// and random so the gzip'd snapshot is about as large as the data.
import { randomBytes } from 'node:crypto';
import { VaultRequestError } from '../activities/vault/vault-errors';
import type { VaultHttp } from '../activities/vault/vault-http';

export const BLOB_BYTES = 512 * 1024;
const PATH = 'bench';
const WRITERS = 4;

export interface VaultTarget {
  vault: VaultHttp;
  token: string;
}

const blobName = (i: number) => `blob-${String(i).padStart(6, '0')}`;

/** The bench blobs already in the cluster (their indexes). */
async function existingBlobs(target: VaultTarget): Promise<Set<number>> {
  const listed = await target.vault
    .request<{ data: { keys: string[] } }>('list bench blobs', {
      method: 'LIST',
      path: `/secret/metadata/${PATH}`,
      token: target.token,
    })
    .catch((err: unknown) => {
      if (err instanceof VaultRequestError && err.status === 404) return { data: { keys: [] } };
      throw err;
    });
  return new Set(listed.data.keys.filter((k) => k.startsWith('blob-')).map((k) => Number(k.slice(5))));
}

/** Runs `work(i)` for each i with WRITERS in parallel. */
async function inParallel(items: number[], work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

/** Makes the cluster hold exactly ceil(sizeBytes / BLOB_BYTES) blobs; returns what it did. */
export async function fillTo(
  target: VaultTarget,
  sizeBytes: number,
): Promise<{ blobs: number; written: number; destroyed: number; seconds: number }> {
  const started = performance.now();
  const want = Math.ceil(sizeBytes / BLOB_BYTES);
  const have = await existingBlobs(target);
  const missing = Array.from({ length: want }, (_, i) => i).filter((i) => !have.has(i));
  const extra = [...have].filter((i) => i >= want);
  await inParallel(missing, async (i) => {
    const value = randomBytes((BLOB_BYTES / 4) * 3).toString('base64');
    await target.vault.request('write bench blob', {
      method: 'POST',
      path: `/secret/data/${PATH}/${blobName(i)}`,
      json: { data: { value } },
      token: target.token,
    });
  });
  await inParallel(extra, async (i) => {
    await target.vault.request('destroy bench blob', {
      method: 'DELETE',
      path: `/secret/metadata/${PATH}/${blobName(i)}`,
      token: target.token,
    });
  });
  return {
    blobs: want,
    written: missing.length,
    destroyed: extra.length,
    seconds: (performance.now() - started) / 1000,
  };
}
