// How a root token passes from the step that mints it to the step that uses it: wrapped by
// Vault (single use, short TTL), so the workflow history carries only a wrapping token that is
// worthless once the next step has used it. When Vault refuses the wrapping token, the step
// decides what that means:
// - this is a retry of the step: its earlier try (a killed worker) may have unwrapped it, so
//   the token is lost, not stolen; the workflow goes back and mints another (RootTokenLost);
// - the wrapping token outlived its TTL: lost as well;
// - otherwise nobody but this step should ever have held it: someone unwrapped it ahead of
//   the workflow. That is reported as possible tampering and never retried (WrappedTokenReused).
import { Context } from '@temporalio/activity';
import { FailureType } from '../workflows/names';
import { failure } from './failures';
import type { VsnapMetrics } from './metrics';
import { unwrapToken, WRAP_TTL_SECONDS, wrapToken, WrappingTokenInvalidError } from './vault/wrapped-token';
import type { VaultHttp } from './vault/vault-http';

/** A root token in transit between two steps. Only the wrapping token is in history. */
export interface HandedToken {
  wrapped: string;
  /** When it was wrapped (worker clock), to tell an expired wrapping token from a stolen one. */
  wrappedAtMs: number;
}

export async function handOver(vault: VaultHttp, token: string): Promise<HandedToken> {
  return { wrapped: await wrapToken(vault, token), wrappedAtMs: Date.now() };
}

export async function takeOver(
  vault: VaultHttp,
  handed: HandedToken,
  context: { cluster: string; metrics: VsnapMetrics },
): Promise<string> {
  try {
    return await unwrapToken(vault, handed.wrapped);
  } catch (err) {
    if (!(err instanceof WrappingTokenInvalidError)) throw err;
    const attempt = Context.current().info.attempt;
    const expired = Date.now() - handed.wrappedAtMs > WRAP_TTL_SECONDS * 1000;
    if (attempt > 1 || expired) {
      throw failure(
        FailureType.RootTokenLost,
        `the root token handed to this step is gone (${expired ? 'its wrapping expired' : 'an earlier try of this step used it'}); a new one is regenerated`,
      );
    }
    context.metrics.wrappedTokenReuse.add(1, { cluster: context.cluster });
    throw failure(
      FailureType.WrappedTokenReused,
      `POSSIBLE TAMPERING: the wrapped root token handed to this step on ${context.cluster} (${vault.address}) ` +
        'had already been unwrapped by someone else before the step could use it. vsnap stopped here. Whoever ' +
        "unwrapped it holds a root-policy token for up to its TTL: audit the cluster's audit log for " +
        'sys/wrapping/unwrap, revoke tokens with display name "token-vsnap-restore", and check who can read this ' +
        "workflow's history and the codec keys",
    );
  }
}
