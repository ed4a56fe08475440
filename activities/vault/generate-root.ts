// The cron-job procedure's generate_root_token, as code: start a generate-root attempt (Vault creates the
// OTP), feed key shares one at a time until complete, decode the token. vsnap cancels only the
// attempts it started (it knows their nonces): an attempt in progress that is not its own is
// an operator's (a break-glass in progress, say), and vsnap stops and names it rather than
// cancelling it. Its own attempt is cancelled on any failure, so a failed run leaves no
// half-authorised attempt behind.
import type { KeyShares } from '../keys/key-shares';
import { VaultRequestError } from './vault-errors';
import type { VaultHttp } from './vault-http';

export class KeySharesRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeySharesRejectedError';
  }
}

/**
 * The cluster cannot check key shares because it cannot reach its seal: with auto-unseal, the
 * recovery keys are stored encrypted by the seal (a KMS key, a transit engine), and Vault
 * decrypts them to compare. Not a wrong share: the key service is down or unreachable.
 */
export class SealUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealUnavailableError';
  }
}

/** Vault's words when decrypting its seal-wrapped stored keys fails. */
const SEAL_FAILURE = /failed to decrypt encrypted stored keys|error decrypting|seal.*(unavailable|unreachable)/i;

interface AttemptStatus {
  started: boolean;
  nonce: string;
  otp?: string;
  otp_length?: number;
  progress: number;
  required: number;
  complete: boolean;
  encoded_token?: string;
  encoded_root_token?: string;
}

/** encoded_token is base64 (unpadded) of token XOR otp. */
export function decodeRootToken(encoded: string, otp: string): string {
  const raw = Buffer.from(encoded, 'base64');
  const pad = Buffer.from(otp, 'utf8');
  if (raw.length !== pad.length) {
    throw new Error(
      `encoded root token is ${raw.length} bytes but the OTP is ${pad.length}; wrong OTP for this attempt`,
    );
  }
  return Buffer.from(raw.map((b, i) => b ^ pad[i])).toString('utf8');
}

/** A generate-root attempt in progress that vsnap did not start: left alone, and named. */
export class ForeignGenerateRootError extends Error {
  constructor(address: string, status: AttemptStatus) {
    super(
      `${address} has a generate-root attempt in progress that vsnap did not start (nonce ${status.nonce}, ` +
        `${status.progress} of ${status.required} key shares entered), perhaps an operator's break-glass. ` +
        'vsnap left it untouched and changed nothing. Let its owner finish it, or cancel it ' +
        '("vault operator generate-root -cancel") if it is abandoned, then start again',
    );
    this.name = 'ForeignGenerateRootError';
  }
}

/** Which attempts are vsnap's own: nonces it started, recorded as it starts them. */
export interface AttemptOwnership {
  /** Nonces of attempts this step started before (an earlier try of the same step). */
  ownNonces: readonly string[];
  /** Called with the nonce as soon as an attempt is started, before any share is sent. */
  onStarted(nonce: string): void;
  /** Stops between key shares (a cancelled step); the attempt is then cancelled. */
  signal?: AbortSignal;
}

async function attemptStatus(vault: VaultHttp): Promise<AttemptStatus> {
  return vault.request<AttemptStatus>('generate-root status', { method: 'GET', path: '/sys/generate-root/attempt' });
}

/** Cancels the attempt in progress only if its nonce is one of `nonces`. */
export async function cancelOwnGenerateRoot(vault: VaultHttp, nonces: readonly string[]): Promise<void> {
  const status = await attemptStatus(vault);
  if (!status.started || !nonces.includes(status.nonce)) return;
  await vault.request('generate-root cancel', { method: 'DELETE', path: '/sys/generate-root/attempt' });
}

/** Returns a new root token. The caller must revoke it (revoke-self) when done. */
export async function generateRootToken(vault: VaultHttp, shares: KeyShares, owner: AttemptOwnership): Promise<string> {
  // Only one attempt can exist at a time. An earlier try of this step, killed midway, may
  // have left its own open: that one is cancelled. Anyone else's is not ours to cancel.
  const existing = await attemptStatus(vault);
  if (existing.started) {
    if (!owner.ownNonces.includes(existing.nonce)) throw new ForeignGenerateRootError(vault.address, existing);
    await cancelOwnGenerateRoot(vault, [existing.nonce]);
  }

  const attempt = await vault.request<AttemptStatus>('generate-root start', {
    method: 'PUT',
    path: '/sys/generate-root/attempt',
    json: {},
  });
  owner.onStarted(attempt.nonce);
  try {
    if (!attempt.otp) throw new Error('Vault returned no OTP for generate-root (is it older than 1.10?)');
    for (const key of shares.keys) {
      owner.signal?.throwIfAborted();
      let status: AttemptStatus;
      try {
        status = await vault.request<AttemptStatus>('generate-root update', {
          method: 'PUT',
          path: '/sys/generate-root/update',
          json: { key, nonce: attempt.nonce },
        });
      } catch (err) {
        if (err instanceof VaultRequestError && err.status === 400) {
          const why = err.vaultErrors.join('; ');
          if (SEAL_FAILURE.test(why)) {
            throw new SealUnavailableError(
              `${vault.address} cannot reach the key service of its auto-unseal seal (KMS, transit) to check key shares: ${why}`,
            );
          }
          throw new KeySharesRejectedError(`${vault.address} rejected the key shares for generate-root: ${why}`);
        }
        throw err;
      }
      const encoded = status.encoded_token || status.encoded_root_token;
      if (status.complete && encoded) return decodeRootToken(encoded, attempt.otp);
    }
    throw new KeySharesRejectedError(
      `${vault.address} needs ${attempt.required} key shares for generate-root; the key source has only ${shares.keys.length}`,
    );
  } catch (err) {
    await cancelOwnGenerateRoot(vault, [attempt.nonce]).catch(() => undefined);
    throw err;
  }
}

/** Unseals with `shares`, resetting any partial progress first. Resolves once unsealed. */
export async function unsealWith(vault: VaultHttp, shares: KeyShares): Promise<void> {
  await vault.request('unseal reset', { method: 'PUT', path: '/sys/unseal', json: { reset: true } });
  for (const key of shares.keys) {
    let status: { sealed: boolean };
    try {
      status = await vault.request<{ sealed: boolean }>('unseal', {
        method: 'PUT',
        path: '/sys/unseal',
        json: { key },
      });
    } catch (err) {
      if (err instanceof VaultRequestError && err.status === 400) {
        throw new KeySharesRejectedError(
          `${vault.address} rejected the unseal key shares: ${err.vaultErrors.join('; ')}`,
        );
      }
      throw err;
    }
    if (!status.sealed) return;
  }
  throw new KeySharesRejectedError(`${vault.address} is still sealed after all ${shares.keys.length} key shares`);
}
