// The restore's proof, on the restored cluster: the canary the backup wrote, the inventory it
// recorded, and a real login with the source's credentials, each with measured values.
import { Context } from '@temporalio/activity';
import type { ClusterConfig } from '../worker/config';
import type { RestoreCheck, RestorePlan } from '../workflows/restore-types';
import { type ActivityDeps, clusterOrFail, vaultFor } from './deps';
import { withFailureMapping } from './failures';
import { startHeartbeat } from './progress-heartbeat';
import { type HandedToken, handOver, takeOver } from './token-handoff';
import { resolveActiveNode } from './vault/active-node';
import { compareInventories, countedMounts, type Inventory, takeInventory } from './vault/inventory';
import { revokeToken } from './vault/root-session';
import { loginToVault } from './vault/vault-login';

export function createRestoreCheckActivities(deps: ActivityDeps) {
  async function checkSourceLogin(source: ClusterConfig, target: ClusterConfig): Promise<RestoreCheck> {
    const name = `${source.name}'s ${source.auth.method} login works on the restored cluster`;
    if (source.auth.method === 'token') {
      return { name, status: 'skipped', expected: 'a login method', actual: `${source.name} uses a static token` };
    }
    // The source's login, made at the target's address with the target's TLS settings.
    const restoredAsSource: ClusterConfig = { ...source, address: target.address };
    for (const field of ['caCertFile', 'tlsServerName', 'clientCertFile', 'clientKeyFile'] as const) {
      if (target[field]) restoredAsSource[field] = target[field];
      else delete restoredAsSource[field];
    }
    const vault = vaultFor(restoredAsSource);
    try {
      const session = await loginToVault(restoredAsSource, vault, deps);
      try {
        // An authenticated read the snapshot-agent policy allows: the KV listing the inventory uses.
        const mount = source.canary.mount;
        const listed = await vault.request<{ data: { keys: string[] } }>('list KV as the source login', {
          method: 'GET',
          path: `/${mount}/metadata/?list=true`,
          token: session.token,
        });
        return {
          name,
          status: 'pass',
          expected: 'login succeeds and its token can read',
          actual: `logged in; listed ${listed.data.keys.length} entries under ${mount}/`,
        };
      } finally {
        await session.revoke();
      }
    } catch (err) {
      return {
        name,
        status: 'fail',
        expected: 'login succeeds',
        actual: err instanceof Error ? err.message : String(err),
      };
    }
  }

  return {
    /**
     * The proof: canary, inventory and a real login, each with measured values, made with the
     * root token the previous step regenerated on the restored cluster. The token is handed on,
     * wrapped again, to the revoke step; if the checks cannot run, this step revokes it itself.
     */
    async checkRestoredCluster(input: {
      plan: RestorePlan;
      maxAgeDays: number;
      token: HandedToken;
    }): Promise<{ checks: RestoreCheck[]; token: HandedToken }> {
      const heartbeat = startHeartbeat('check');
      try {
        return await withFailureMapping(async () => {
          const { plan } = input;
          const target = clusterOrFail(deps, plan.target);
          const source = clusterOrFail(deps, plan.source);
          const { vault } = await resolveActiveNode(vaultFor(target), {
            onWaiting: () => heartbeat.phase('wait-for-leader'),
            signal: Context.current().cancellationSignal,
          });
          const token = await takeOver(vault, input.token, { cluster: target.name, metrics: deps.metrics });
          let handedOn = false;
          try {
            const checks: RestoreCheck[] = [];
            const recorded = plan.manifest.canary;
            const [mount, ...rest] = recorded.path.split('/');
            const canary = await vault
              .request<{ data: { data: { value?: string; workflowId?: string } } }>('read canary', {
                method: 'GET',
                path: `/${mount}/data/${rest.join('/')}`,
                token,
              })
              .then((r) => r.data.data)
              .catch(() => ({ value: undefined, workflowId: undefined }));
            const value = canary.value === undefined ? undefined : Number(canary.value);
            checks.push({
              name: 'canary matches manifest',
              status: value === recorded.value && canary.workflowId === recorded.workflowId ? 'pass' : 'fail',
              expected: `${recorded.path} = ${recorded.value} (backup ${recorded.workflowId})`,
              actual:
                value === undefined
                  ? `${recorded.path} is missing`
                  : `${value} (backup ${canary.workflowId ?? 'unknown'})`,
            });
            const ageSeconds = value === undefined ? undefined : Math.floor(Date.now() / 1000) - value;
            checks.push({
              name: 'canary age',
              status: ageSeconds !== undefined && ageSeconds <= input.maxAgeDays * 86_400 ? 'pass' : 'fail',
              expected: `at most ${input.maxAgeDays} days (${Math.round(input.maxAgeDays * 86_400)}s)`,
              actual:
                ageSeconds === undefined ? 'no canary' : `${(ageSeconds / 86_400).toFixed(2)} days (${ageSeconds}s)`,
            });

            if (plan.manifest.inventory) {
              const recorded = plan.manifest.inventory;
              const restored = await takeInventory(vault, token, { countOnly: countedMounts(recorded) });
              const differences = compareInventories(recorded, restored);
              checks.push({
                name: 'inventory matches backup',
                status: differences.length === 0 ? 'pass' : 'fail',
                expected: summarizeInventory(plan.manifest.inventory),
                actual: differences.length === 0 ? 'identical' : differences.join('; '),
              });
            } else {
              checks.push({
                name: 'inventory matches backup',
                status: 'skipped',
                expected: '-',
                actual: 'the manifest has no inventory',
              });
            }

            checks.push(await checkSourceLogin(source, target));
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

function summarizeInventory(inv: Inventory): string {
  const keys = Object.values(inv.keyCounts).reduce((a, b) => a + b, 0);
  const counted = Object.keys(inv.keyCounts).length;
  const notCounted = Object.keys(inv.uncounted ?? {}).length;
  const total = (field: 'secretMounts' | 'authMethods' | 'policies') => inv.totals?.[field] ?? inv[field].length;
  return (
    `${total('secretMounts')} mounts, ${total('authMethods')} auth methods, ${total('policies')} policies, ` +
    `${keys} keys in ${counted} KV mounts` +
    (notCounted ? ` (${notCounted} KV mounts not counted: ${Object.keys(inv.uncounted ?? {}).join(', ')})` : '')
  );
}
