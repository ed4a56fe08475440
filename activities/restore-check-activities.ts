// The restore's proof step, on the restored cluster: every check of restore-checks.ts, made
// with the root token the previous step regenerated, which it hands on to the revoke step.
import { Context } from '@temporalio/activity';
import type { RestoreCheck, RestorePlan } from '../workflows/restore-types';
import { type ActivityDeps, clusterOrFail, vaultFor } from './deps';
import { withFailureMapping } from './failures';
import { startHeartbeat } from './progress-heartbeat';
import { runRestoreChecks, type StorageCounts } from './restore-checks';
import { type HandedToken, handOver, takeOver } from './token-handoff';
import { resolveActiveNode } from './vault/active-node';
import { revokeToken } from './vault/root-session';

export function createRestoreCheckActivities(deps: ActivityDeps) {
  return {
    /**
     * Runs every check on the restored cluster. The token is handed on, wrapped again, to the
     * revoke step; if the checks cannot run, this step revokes it itself.
     */
    async checkRestoredCluster(input: {
      plan: RestorePlan;
      maxAgeDays: number;
      token: HandedToken;
      /** The restored snapshot's storage entries per mount, counted as the restore sent it. */
      snapshotStorage?: StorageCounts;
    }): Promise<{ checks: RestoreCheck[]; token: HandedToken }> {
      const heartbeat = startHeartbeat('check');
      try {
        return await withFailureMapping(async () => {
          const { plan } = input;
          const target = clusterOrFail(deps, plan.target);
          const source = clusterOrFail(deps, plan.source);
          const signal = Context.current().cancellationSignal;
          const { vault } = await resolveActiveNode(vaultFor(target), {
            onWaiting: () => heartbeat.phase('wait-for-leader'),
            signal,
          });
          const token = await takeOver(vault, input.token, { cluster: target.name, metrics: deps.metrics });
          let handedOn = false;
          try {
            const checks = await runRestoreChecks({
              deps,
              vault,
              token,
              plan,
              source,
              restoredAt: target,
              maxAgeDays: input.maxAgeDays,
              ...(input.snapshotStorage ? { snapshotStorage: input.snapshotStorage } : {}),
              signal,
            });
            const next = await handOver(vault, token);
            handedOn = true;
            return { checks, token: next };
          } finally {
            if (!handedOn) await revokeToken(vault, token);
          }
        });
      } finally {
        heartbeat.stop();
      }
    },
  };
}
