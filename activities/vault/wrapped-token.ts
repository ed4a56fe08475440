// Tokens cross from one activity to the next only as Vault response-wrapping tokens: single
// use, short TTL, and useless to whoever reads the workflow history after the next step has
// unwrapped them (the codec encrypts them in history as well). An unwrap that Vault refuses
// means the wrapping token was used already or has expired: the caller decides which
// (activities/token-handoff.ts), since a token used by someone else is a sign of tampering.
import { VaultRequestError } from './vault-errors';
import type { VaultHttp } from './vault-http';

/** How long a wrapped token waits for the next step; retries of a step fit well inside it. */
export const WRAP_TTL_SECONDS = 600;

export class WrappingTokenInvalidError extends Error {
  constructor(readonly address: string) {
    super(`${address} refused the wrapping token: it was already unwrapped, or it expired`);
    this.name = 'WrappingTokenInvalidError';
  }
}

/** Wraps `token` in a new single-use wrapping token (made with `token` itself). */
export async function wrapToken(vault: VaultHttp, token: string): Promise<string> {
  const wrapped = await vault.request<{ wrap_info?: { token?: string } }>('wrap token', {
    method: 'POST',
    path: '/sys/wrapping/wrap',
    json: { token },
    token,
    headers: { 'X-Vault-Wrap-TTL': `${WRAP_TTL_SECONDS}s` },
  });
  const wrapping = wrapped.wrap_info?.token;
  if (!wrapping) throw new Error(`${vault.address} returned no wrapping token for sys/wrapping/wrap`);
  return wrapping;
}

/** Unwraps a token made by wrapToken. The wrapping token is consumed. */
export async function unwrapToken(vault: VaultHttp, wrapping: string): Promise<string> {
  try {
    const unwrapped = await vault.request<{ data?: { token?: string } }>('unwrap token', {
      method: 'POST',
      path: '/sys/wrapping/unwrap',
      token: wrapping,
    });
    const token = unwrapped.data?.token;
    if (!token) throw new Error(`${vault.address} unwrapped no token: the wrapping token did not come from vsnap`);
    return token;
  } catch (err) {
    // Vault: 400 "wrapping token is not valid or does not exist"; some versions answer 403.
    if (err instanceof VaultRequestError && (err.status === 400 || err.status === 403)) {
      throw new WrappingTokenInvalidError(vault.address);
    }
    throw err;
  }
}
