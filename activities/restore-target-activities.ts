// The steps of a restore that act on the target cluster, each its own activity so the history
// reads like the procedure and each retries on its own: regenerate root → restore → unseal →
// regenerate root (restored cluster) → check (restore-check-activities.ts) → revoke.
//
// Every step is idempotent and starts by reading the target's state, so a retry (a killed
// worker, a cut connection, Vault restarting) continues from wherever the last try stopped.
// Every step heartbeats before its first Vault call, so a cancellation reaches it at once; the
// workflow waits for the step to finish cancelling (WAIT_CANCELLATION_COMPLETED) before it
// reports. Root tokens cross between steps only wrapped (token-handoff.ts).
import { Context } from '@temporalio/activity';
import type { ClusterConfig } from '../config/cluster-schema';
import { FailureType } from '../workflows/names';
import type { RestorePlan } from '../workflows/restore-types';
import { type ActivityDeps, clusterOrFail, vaultFor } from './deps';
import { failure, withFailureMapping } from './failures';
import { type Heartbeat, recordedByPreviousTry, startHeartbeat } from './progress-heartbeat';
import { storageCounter, type StorageCounts } from './restore-checks';
import { type KeyringOrder, keyringsFor } from './restore-keyrings';
import { readLocation, storeAt } from './storage/snapshot-locations';
import { openVerifiedSnapshot, restoreVerifiedSnapshot } from './storage/verified-object';
import { type HandedToken, handOver, takeOver } from './token-handoff';
import { clusterNodes, resolveActiveNode } from './vault/active-node';
import { ForeignGenerateRootError, SealUnavailableError } from './vault/generate-root';
import { unsealAndWaitForActive, waitUntilSnapshotTaken } from './vault/restore-wait';
import { openRootSession, revokeToken } from './vault/root-session';
import type { VaultHttp } from './vault/vault-http';
import { unwrapToken, WrappingTokenInvalidError } from './vault/wrapped-token';

export interface RestoreOutcome {
  /** Addresses of every node of the target, for the unseal step (read before the restore). */
  nodes: string[];
  /** The target sealed itself on taking the snapshot (a Shamir seal on another keyring). */
  sealedItself: boolean;
  /** This try found the snapshot already sent by an earlier one, and did not send it again. */
  resumed: boolean;
  bytes: number;
  /** The sent snapshot's storage entries per mount (absent when this try did not send it). */
  storage?: StorageCounts;
}

export function createRestoreTargetActivities(deps: ActivityDeps) {
  function clusters(plan: RestorePlan): { target: ClusterConfig; source: ClusterConfig } {
    return { target: clusterOrFail(deps, plan.target), source: clusterOrFail(deps, plan.source) };
  }

  async function activeNode(target: ClusterConfig, heartbeat: Heartbeat): Promise<VaultHttp> {
    const { vault } = await resolveActiveNode(vaultFor(target), {
      onWaiting: () => heartbeat.phase('wait-for-leader'),
      signal: Context.current().cancellationSignal,
    });
    return vault;
  }

  function takeOverOn(vault: VaultHttp, target: ClusterConfig, handed: HandedToken): Promise<string> {
    return takeOver(vault, handed, { cluster: target.name, metrics: deps.metrics });
  }

  /** Runs a step body with its heartbeat, failure mapping and the heartbeat stopped at the end. */
  async function step<T>(name: string, body: (heartbeat: Heartbeat) => Promise<T>): Promise<T> {
    const heartbeat = startHeartbeat(name);
    try {
      return await withFailureMapping(() => body(heartbeat));
    } finally {
      heartbeat.stop();
    }
  }

  return {
    /**
     * Regenerates root on the target with key shares and hands over a short-lived root-policy
     * token, wrapped. Cancels only generate-root attempts this step started (their nonces are
     * recorded in its heartbeat); someone else's attempt makes it stop, naming that attempt.
     */
    async regenerateRoot(input: { plan: RestorePlan; keyring: KeyringOrder }): Promise<HandedToken> {
      return step('regenerate-root', async (heartbeat) => {
        const { target, source } = clusters(input.plan);
        const nonces = [...(recordedByPreviousTry<{ nonces: string[] }>().nonces ?? [])];
        const vault = await activeNode(target, heartbeat);
        let token: string;
        try {
          token = await openRootSession(vault, keyringsFor(deps, target, source, input.keyring), {
            ownNonces: nonces,
            onStarted: (nonce) => {
              nonces.push(nonce);
              heartbeat.record({ nonces });
            },
            signal: Context.current().cancellationSignal,
          });
        } catch (err) {
          if (err instanceof ForeignGenerateRootError) throw failure(FailureType.GenerateRootInProgress, err.message);
          if (err instanceof SealUnavailableError && input.keyring === 'before-restore') {
            throw failure(
              FailureType.SealUnavailable,
              `${err.message}. Nothing was restored: ${target.name} is unchanged and still unsealed. ` +
                'Run the restore again once its key service answers',
            );
          }
          throw err;
        }
        try {
          return await handOver(vault, token);
        } catch (err) {
          await revokeToken(vault, token);
          throw err;
        }
      });
    },

    /**
     * Sends the snapshot to the target's active node (snapshot-force across clusters) and waits
     * until the target has taken it. Only the active node may restore: an OpenBao standby
     * answers the POST with 204, does not apply it and seals itself. A retry after the snapshot
     * was sent does not send it again if the target sealed itself (it took it); otherwise it
     * sends it again, which ends in the same state.
     */
    async restoreSnapshot(input: { plan: RestorePlan; token: HandedToken }): Promise<RestoreOutcome> {
      return step('restore', async (heartbeat) => {
        const { plan } = input;
        const { target } = clusters(plan);
        const signal = Context.current().cancellationSignal;
        const earlier = recordedByPreviousTry<{ snapshotSent: boolean; nodes: string[] }>();
        // A retry of this step, on a target that was unsealed when the step began (regenerating
        // root needs that) and is sealed now: the earlier try's snapshot was taken, even if the
        // try died before it could record sending it. The unseal step takes it from there.
        if (earlier.snapshotSent || Context.current().info.attempt > 1) {
          const configured = vaultFor(target);
          const nodes = earlier.nodes ?? [configured.address];
          if (await anySealed(nodes.map((a) => configured.forNode(a)))) {
            return { nodes: earlier.nodes ?? [], sealedItself: true, resumed: true, bytes: 0 };
          }
        }
        const vault = await activeNode(target, heartbeat);
        const token = await takeOverOn(vault, target, input.token);
        try {
          const nodes = await clusterNodes(vault, token);
          const addresses = nodes.map((n) => n.address);
          const storage = storageCounter();
          const store = storeAt(deps, clusterOrFail(deps, plan.source), readLocation(plan));
          const snapshot = await openVerifiedSnapshot(store, plan, heartbeat, signal, {
            onStateChunk: storage.onStateChunk,
          });
          const { verified } = snapshot;
          heartbeat.record({ snapshotSent: true, nodes: addresses });
          await restoreVerifiedSnapshot(vault, token, snapshot, plan.force, signal).catch(async (err: unknown) => {
            // A body refused on its way (its checks, S3) never reached Vault whole. A cut
            // connection does not say whether Vault applied the snapshot; a target that sealed
            // itself did, and the unseal step brings it back.
            if (verified.errored || !(await anySealed(nodes))) throw err;
          });
          heartbeat.phase('wait-for-target');
          const taken = await waitUntilSnapshotTaken(nodes, token, {
            heartbeat: () => heartbeat.phase('wait-for-target'),
            signal,
          });
          deps.metrics.snapshotBytes.add(verified.bytes, { cluster: target.name, direction: 'restore' });
          return {
            nodes: addresses,
            sealedItself: taken === 'sealed',
            resumed: false,
            bytes: verified.bytes,
            storage: storage.counts(),
          };
        } finally {
          // After the restore this token no longer exists; if the restore did not happen, it must go.
          await revokeToken(vault, token);
        }
      });
    },

    /**
     * Brings every node of the target back: unseals each sealed Shamir node with the first
     * keyring it accepts (the restored one first), waits for auto-unseal nodes, and waits for
     * one active node. Does nothing on a target already unsealed with an active node.
     */
    async unsealTarget(input: {
      plan: RestorePlan;
      nodes: string[];
    }): Promise<{ unsealedNodes: number; unsealedWith?: 'target' | 'source' }> {
      return step('unseal', async (heartbeat) => {
        const { target, source } = clusters(input.plan);
        const configured = vaultFor(target);
        const nodes = input.nodes.length > 0 ? input.nodes.map((a) => configured.forNode(a)) : [configured];
        const { unsealedNodes, unsealedWith } = await unsealAndWaitForActive(nodes, {
          keyrings: keyringsFor(deps, target, source, 'after-restore'),
          heartbeat: () => heartbeat.phase('unseal'),
          signal: Context.current().cancellationSignal,
        });
        return { unsealedNodes, ...(unsealedWith?.whose ? { unsealedWith: unsealedWith.whose } : {}) };
      });
    },

    /**
     * Revokes a handed-over root token. In cleanup (after a failure or a cancellation) a
     * wrapping token already used is expected: the step that used it revoked its token itself.
     */
    async revokeRootToken(input: { plan: RestorePlan; token: HandedToken; cleanup: boolean }): Promise<{
      revoked: boolean;
    }> {
      return step('revoke', async (heartbeat) => {
        const { target } = clusters(input.plan);
        const vault = await activeNode(target, heartbeat);
        const token = input.cleanup
          ? await unwrapToken(vault, input.token.wrapped).catch((err: unknown) => {
              if (err instanceof WrappingTokenInvalidError) return undefined;
              throw err;
            })
          : await takeOverOn(vault, target, input.token);
        return { revoked: token !== undefined && (await revokeToken(vault, token)) };
      });
    },
  };
}

async function anySealed(nodes: VaultHttp[]): Promise<boolean> {
  const healths = await Promise.all(nodes.map((n) => n.health().catch(() => undefined)));
  return healths.some((h) => h?.sealed);
}
