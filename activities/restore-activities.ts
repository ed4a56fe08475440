// The restore's side effects: plan (every check that needs no side effect), fetch and verify
// the stored object, restore it into the target, wait until the target really serves it,
// check the restored data, record a drill's verdict and notify. Root access is regenerated
// from key shares inside each activity that needs it and revoked before the activity ends.
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Context } from '@temporalio/activity';
import type { ClusterConfig } from '../worker/config';
import { FailureType } from '../workflows/names';
import type { RestoreCheck, RestorePlan, RestorePlanRequest, VerificationRecord } from '../workflows/restore-types';
import { VerifiedSnapshotStream } from './archive/verified-snapshot-stream';
import { type ActivityDeps, clusterOrFail, vaultFor } from './deps';
import { failure, withFailureMapping } from './failures';
import { type Heartbeat, startHeartbeat } from './progress-heartbeat';
import { type KeyShares, loadKeyShares } from './keys/key-shares';
import { snapshotTimeOf, verificationKeyFor } from './storage/snapshot-keys';
import { cancelGenerateRoot, SealUnavailableError } from './vault/generate-root';
import { clusterNodes, resolveActiveNode } from './vault/active-node';
import { compareInventories, countedMounts, type Inventory, takeInventory } from './vault/inventory';
import { openRootSession, revokeToken, type ShareSet } from './vault/root-session';
import { waitUntilRestoreApplied } from './vault/restore-wait';
import { loginToVault } from './vault/vault-login';
import type { VaultHttp } from './vault/vault-http';

export function createRestoreActivities(deps: ActivityDeps) {
  function shareSet(cluster: ClusterConfig, label: string): ShareSet {
    return {
      label,
      load: () => {
        if (!cluster.keyShares) {
          throw failure(FailureType.KeySharesUnavailable, `cluster ${cluster.name} has no keyShares configured`);
        }
        return loadKeyShares(cluster.keyShares, deps);
      },
    };
  }

  /**
   * Before a restore the target runs on its own keyring, unless an earlier drill already gave
   * it the source's; after a restore it runs on the source's.
   */
  function shareSetsFor(target: ClusterConfig, source: ClusterConfig, when: 'before' | 'after'): ShareSet[] {
    const own = shareSet(target, `${target.name}'s own key shares`);
    if (target.name === source.name) return [own];
    const sources = shareSet(source, `${source.name}'s key shares (restored keyring)`);
    return when === 'before' ? [own, sources] : [sources, own];
  }

  /** The planned object from S3 and the checks it must pass on its way (SHA-256, size, archive). */
  async function openVerified(plan: RestorePlan, heartbeat: Heartbeat, signal: AbortSignal) {
    const { body } = await deps.store.openSnapshot(plan.bucket, plan.key, signal);
    const verified = new VerifiedSnapshotStream(
      { key: plan.key, sha256: plan.manifest.sha256, size: plan.manifest.size },
      (bytes) => heartbeat.progress(bytes),
    );
    return { body, verified };
  }

  /**
   * The target's active node and a short-lived root session on it. Only the active node may
   * restore: an OpenBao standby answers the snapshot POST with 204, does not apply it ("node is
   * not the leader") and seals itself; a Vault standby is reported to answer 307. A target that
   * cannot reach its seal's key service fails here, before anything is sent.
   */
  async function openTargetSession(
    target: ClusterConfig,
    source: ClusterConfig,
    heartbeat: Heartbeat,
    signal: AbortSignal,
  ): Promise<{ vault: VaultHttp; token: string }> {
    const { vault } = await resolveActiveNode(vaultFor(target), {
      onWaiting: () => heartbeat.phase('wait-for-leader'),
      signal,
    });
    try {
      return { vault, token: await openRootSession(vault, shareSetsFor(target, source, 'before')) };
    } catch (err) {
      if (!(err instanceof SealUnavailableError)) throw err;
      throw failure(
        FailureType.SealUnavailable,
        `${err.message}. Nothing was restored: ${target.name} is unchanged and still unsealed. ` +
          'Run the restore again once its key service answers',
      );
    }
  }

  return {
    /** Resolves target, source and snapshot and checks every precondition, with no side effect. */
    async planRestore(input: RestorePlanRequest): Promise<RestorePlan> {
      return withFailureMapping(async () => {
        const target = input.target
          ? clusterOrFail(deps, input.target)
          : deps.config.clusters.find(
              (c) => c.drillSource !== undefined && (!input.source || c.drillSource === input.source),
            );
        if (!target) {
          throw failure(
            FailureType.InvalidInput,
            `no drill cluster${input.source ? ` for source "${input.source}"` : ''} is configured; set "target" or give a cluster drillSource`,
          );
        }
        const source = clusterOrFail(deps, input.source ?? target.drillSource ?? target.name);
        const force = source.name !== target.name;
        if (force && target.drillSource !== source.name && !input.force) {
          throw failure(
            FailureType.InvalidInput,
            `restoring a snapshot of "${source.name}" into "${target.name}" replaces ${target.name}'s data with another cluster's; ` +
              `pass "force": true if that is intended, or set drillSource: "${source.name}" on ${target.name}`,
          );
        }
        for (const c of force ? [source, target] : [target]) {
          if (!c.keyShares) {
            throw failure(
              FailureType.KeySharesUnavailable,
              `cluster ${c.name} has no keyShares configured; a restore needs them to regenerate root and unseal`,
            );
          }
          await loadKeyShares(c.keyShares, deps).catch((err: Error) => {
            throw failure(FailureType.KeySharesUnavailable, `cluster ${c.name}: ${err.message}`);
          });
        }

        const { bucket, prefix } = source.storage;
        let key: string;
        if (input.snapshot === 'latest') {
          const latest = await deps.store.latestValidSnapshot(bucket, prefix);
          if (!latest) {
            throw failure(
              FailureType.SnapshotNotFound,
              `no valid snapshot of ${source.name} under s3://${bucket}/${prefix}/; run a backup first`,
            );
          }
          key = latest.key;
        } else {
          key = input.snapshot;
          if (!key.startsWith(`${prefix}/`) || !snapshotTimeOf(key)) {
            throw failure(
              FailureType.InvalidInput,
              `"${key}" is not a snapshot key of ${source.name}; keys look like ${prefix}/2026-11-28T01-22-33.123Z.snap ("vsnap snapshots list" shows them)`,
            );
          }
        }
        const manifest = await deps.store.readManifest(bucket, key);
        if (!manifest) {
          throw failure(
            FailureType.SnapshotNotFound,
            `s3://${bucket}/${key} has no manifest, so it is not a valid backup (missing, or its backup never finished)`,
          );
        }

        const health = await vaultFor(target).health();
        if (!health.initialized || health.sealed) {
          throw failure(
            FailureType.VaultSealed,
            `target ${target.name} at ${target.address} is ${health.initialized ? 'sealed' : 'not initialised'}; unseal it before restoring into it`,
          );
        }
        return {
          target: target.name,
          source: source.name,
          targetAddress: target.address,
          targetProtected: target.protected,
          force,
          bucket,
          key,
          manifest,
          snapshotTakenAt: manifest.createdAt,
        };
      });
    },

    /** Streams the object from S3 through the SHA-256 and archive checks, to nowhere. */
    async fetchSnapshot(plan: RestorePlan): Promise<{ bytes: number; raftIndex: number }> {
      return withFailureMapping(async () => {
        const ctx = Context.current();
        const heartbeat = startHeartbeat('fetch');
        try {
          const { body, verified } = await openVerified(plan, heartbeat, ctx.cancellationSignal);
          const sink = new Writable({ write: (_chunk, _enc, done) => done() });
          await pipeline(body, verified, sink, { signal: ctx.cancellationSignal });
          return { bytes: verified.bytes, raftIndex: verified.facts?.raftIndex ?? 0 };
        } finally {
          heartbeat.stop();
        }
      });
    },

    /**
     * Restores the snapshot into the target's active node (snapshot-force across clusters),
     * then waits until the target serves it: every node unsealed (with the source's keys when
     * the seal needs them), one active, and no longer accepting the pre-restore token.
     */
    async restoreSnapshot(plan: RestorePlan): Promise<{ bytes: number; unsealed: boolean }> {
      return withFailureMapping(async () => {
        const target = clusterOrFail(deps, plan.target);
        const source = clusterOrFail(deps, plan.source);
        const ctx = Context.current();
        // Heartbeats go on while Vault applies the snapshot too, so a cancellation arrives mid-request.
        const heartbeat = startHeartbeat('restore');
        let session: { vault: VaultHttp; token: string } | undefined;
        try {
          session = await openTargetSession(target, source, heartbeat, ctx.cancellationSignal);
          const { vault, token } = session;
          const nodes = await clusterNodes(vault, token);
          const { body, verified } = await openVerified(plan, heartbeat, ctx.cancellationSignal);
          body.on('error', (err) => verified.destroy(err));
          await vault
            .restoreSnapshot(token, body.pipe(verified), plan.force, ctx.cancellationSignal)
            .catch(async (err: unknown) => {
              // A cut connection does not say whether Vault applied the snapshot; a target that
              // sealed itself did, and the wait below unseals it or says it stays sealed.
              if (!(await isSealed(vault))) throw err;
            });
          const sourceShares = shareSetsFor(target, source, 'after');
          const { unsealedNodes } = await waitUntilRestoreApplied(nodes, token, {
            loadShares: async (): Promise<KeyShares> => sourceShares[0].load(),
            heartbeat: () => heartbeat.phase('wait-for-target'),
            signal: ctx.cancellationSignal,
          });
          deps.metrics.snapshotBytes.add(verified.bytes, { cluster: target.name, direction: 'restore' });
          return { bytes: verified.bytes, unsealed: unsealedNodes > 0 };
        } finally {
          heartbeat.stop();
          // After a successful restore this token no longer exists; before it, it must go.
          if (session) await revokeToken(session.vault, session.token);
        }
      });
    },

    /** The proof: canary, inventory and a real login, each with measured values. */
    async checkRestoredCluster(input: { plan: RestorePlan; maxAgeDays: number }): Promise<RestoreCheck[]> {
      return withFailureMapping(async () => {
        const { plan } = input;
        const target = clusterOrFail(deps, plan.target);
        const source = clusterOrFail(deps, plan.source);
        const vault = vaultFor(target);
        const token = await openRootSession(vault, shareSetsFor(target, source, 'after'));
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
          return checks;
        } finally {
          await revokeToken(vault, token);
        }
      });
    },

    /** Cleanup after a failed or cancelled restore: no generate-root attempt left open. */
    async abandonRestore(input: { target: string }): Promise<void> {
      const target = clusterOrFail(deps, input.target);
      await cancelGenerateRoot(vaultFor(target)).catch(() => undefined);
    },

    /** Records a drill's verdict next to the snapshot's manifest, for `vsnap snapshots list`. */
    async recordVerification(input: { source: string; key: string; record: VerificationRecord }): Promise<void> {
      return withFailureMapping(async () => {
        const { bucket, kmsKeyId } = clusterOrFail(deps, input.source).storage;
        await deps.store.putRecord(bucket, verificationKeyFor(input.key), input.record, kmsKeyId);
        deps.metrics.drillPassed.set(input.record.passed ? 1 : 0, { cluster: input.source });
        if (input.record.passed) {
          deps.metrics.lastSuccess.set(Math.floor(Date.parse(input.record.verifiedAt) / 1000), {
            cluster: input.source,
            kind: 'verify',
          });
        }
      });
    },

    /** Slack-compatible webhook: a JSON body with `text`. Failures are reported, never fatal to the drill. */
    async notifyWebhook(input: { url: string; text: string }): Promise<{ status: number }> {
      const res = await fetch(input.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ text: input.text }),
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) throw new Error(`webhook answered HTTP ${res.status}`);
      return { status: res.status };
    },
  };

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

async function isSealed(vault: VaultHttp): Promise<boolean> {
  return vault.health().then(
    (h) => h.sealed,
    () => false,
  );
}
