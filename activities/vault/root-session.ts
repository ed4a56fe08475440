// Root access for a restore or a drill, as short-lived as it can be: regenerate root with key
// shares, immediately trade it for an orphan root-policy token with a TTL, revoke the
// regenerated root token, use the short-lived one, and revoke it in `finally`. A worker killed
// mid-activity leaves only a token that expires within ROOT_TOKEN_TTL.
import type { KeyShares } from '../keys/key-shares';
import { type AttemptOwnership, generateRootToken, KeySharesRejectedError } from './generate-root';
import type { VaultHttp } from './vault-http';

export const ROOT_TOKEN_TTL = '15m';

export interface ShareSet {
  /** Where the shares come from, for messages: "drill's own", "prod's". */
  label: string;
  /** In a restore: the target's own keyring, or the source's (the one a restore brings). */
  whose?: 'target' | 'source';
  load(): Promise<KeyShares>;
}

/** Regenerates root with the first share set the cluster accepts; returns a TTL-bound token. */
export async function openRootSession(
  vault: VaultHttp,
  shareSets: ShareSet[],
  owner: AttemptOwnership,
): Promise<string> {
  const rejections: string[] = [];
  for (const set of shareSets) {
    let root: string;
    try {
      root = await generateRootToken(vault, await set.load(), owner);
    } catch (err) {
      if (!(err instanceof KeySharesRejectedError)) throw err;
      rejections.push(`${set.label}: ${err.message}`);
      continue;
    }
    try {
      const created = await vault.request<{ auth: { client_token: string } }>('create short-lived root token', {
        method: 'POST',
        path: '/auth/token/create-orphan',
        json: { policies: ['root'], ttl: ROOT_TOKEN_TTL, display_name: 'vsnap-restore', no_default_policy: true },
        token: root,
      });
      return created.auth.client_token;
    } finally {
      await revokeToken(vault, root);
    }
  }
  throw new KeySharesRejectedError(`no key shares regenerate root on ${vault.address}: ${rejections.join(' | ')}`);
}

/** revoke-self; never throws (a token already gone is what we wanted). */
export async function revokeToken(vault: VaultHttp, token: string): Promise<boolean> {
  try {
    await vault.request('token revoke-self', { method: 'POST', path: '/auth/token/revoke-self', token });
    return true;
  } catch {
    return false;
  }
}
