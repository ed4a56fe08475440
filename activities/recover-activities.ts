// Recovering single KV secrets: the snapshot is restored into a throwaway server inside the
// activity, the secrets are read there and compared with (or written into) the live cluster
// in the same activity, and the server is wiped. Values never leave the worker process; the
// activities return names, versions and states. The live cluster is reached with vsnap's own
// login, whose policy must allow the paths recovered (deploy/vault/recover-policy.hcl).
import { Context } from '@temporalio/activity';
import type { ClusterConfig } from '../config/cluster-schema';
import { EPHEMERAL_TARGET, FailureType } from '../workflows/names';
import type { RecoverItem, RecoverPlan, RecoverRequest } from '../workflows/recover-types';
import type { RestorePlan } from '../workflows/restore-types';
import { type ActivityDeps, clusterOrFail, vaultFor } from './deps';
import { checkEphemeralFits, withRestoredSnapshot } from './ephemeral/restored-snapshot';
import { failure, withFailureMapping } from './failures';
import { loadKeyShares } from './keys/key-shares';
import { type Heartbeat, recordedByPreviousTry, startHeartbeat } from './progress-heartbeat';
import { resolveSnapshot } from './storage/resolve-snapshot';
import {
  compareFields,
  type KvMount,
  listFolder,
  readKvMounts,
  readLive,
  readSecret,
  type SecretData,
  splitKvPath,
  writeSecret,
} from './vault/kv-secrets';
import { resolveActiveNode } from './vault/active-node';
import { VaultRequestError } from './vault/vault-errors';
import type { VaultHttp } from './vault/vault-http';
import { loginToVault } from './vault/vault-login';

/** A secret read out of the snapshot: its value stays in this process. */
interface SnapshotSecret {
  path: string;
  to: string;
  source: { mount: KvMount; key: string };
  target: { mount: KvMount; key: string };
  data: SecretData;
  version?: number;
}

export function createRecoverActivities(deps: ActivityDeps) {
  /** The secrets a request names, read from the restored server; sub-folders of a folder are skipped. */
  async function readRequested(
    vault: VaultHttp,
    token: string,
    request: RecoverRequest,
  ): Promise<{ secrets: SnapshotSecret[]; skipped: string[] }> {
    const mounts = await readKvMounts(vault, token);
    const locate = (path: string) => {
      const found = splitKvPath(mounts, path);
      if (!found) {
        throw failure(
          FailureType.InvalidInput,
          `${path} is not in a KV mount of the snapshot (its KV mounts: ${mounts.map((m) => m.path).join(', ') || 'none'})`,
        );
      }
      return found;
    };
    const folder = request.path.endsWith('/*');
    const paths: { path: string; to: string }[] = [];
    const skipped: string[] = [];
    if (folder) {
      const base = request.path.slice(0, -1);
      const { mount, key } = locate(`${base}_`);
      const folderKey = key.slice(0, -1);
      const entries = await listFolder(vault, token, mount, folderKey);
      if (entries.length === 0) throw failure(FailureType.SecretNotFound, `${base} holds no secrets in the snapshot`);
      for (const entry of entries.sort()) {
        if (entry.endsWith('/')) skipped.push(`${base}${entry}`);
        else paths.push({ path: `${base}${entry}`, to: `${request.to ?? base}${entry}` });
      }
    } else {
      paths.push({ path: request.path, to: request.to ?? request.path });
    }
    const secrets: SnapshotSecret[] = [];
    for (const { path, to } of paths) {
      const source = locate(path);
      const read = await readSecret(vault, token, source.mount, source.key, request.version);
      if ('missing' in read) throw failure(FailureType.SecretNotFound, read.missing);
      secrets.push({
        path,
        to,
        source,
        target: locate(to),
        data: read.data,
        ...(read.version ? { version: read.version } : {}),
      });
    }
    return { secrets, skipped };
  }

  /** vsnap's own login on the live cluster, for the duration of `use`; a 403 names the policy to grant. */
  async function withLiveSession<T>(cluster: ClusterConfig, use: (vault: VaultHttp, token: string) => Promise<T>) {
    // The active node: a standby may answer a read a moment behind it, and the check that the
    // live secret did not change since the plan must read what a write would see.
    const { vault } = await resolveActiveNode(vaultFor(cluster), { signal: Context.current().cancellationSignal });
    const session = await loginToVault(cluster, vault, deps);
    try {
      return await use(vault, session.token);
    } catch (err) {
      if (err instanceof VaultRequestError && err.status === 403) {
        throw failure(
          FailureType.VaultPermissionDenied,
          `${err.message}. vsnap's ${cluster.auth.method} login on ${cluster.name} may not read or write that secret: ` +
            'grant its role the policy in deploy/vault/recover-policy.hcl, for the paths vsnap may recover',
        );
      }
      throw err;
    } finally {
      await session.revoke();
    }
  }

  async function compareWithLive(vault: VaultHttp, token: string, s: SnapshotSecret): Promise<RecoverItem> {
    const live = await readLive(vault, token, s.target.mount, s.target.key);
    const diff = compareFields(s.data, live.data);
    return {
      path: s.path,
      to: s.to,
      kv: s.source.mount.version,
      ...(s.version ? { snapshotVersion: s.version } : {}),
      live: { state: live.state, version: live.version, fields: live.fields },
      fields: Object.keys(s.data).sort(),
      changedFields: diff.changed,
      addedFields: diff.added,
      removedFields: diff.removed,
      identical: live.state === 'present' && diff.changed.length + diff.added.length + diff.removed.length === 0,
    };
  }

  /** Runs `use` on the snapshot restored into a throwaway server, with the cluster's drill.ephemeral. */
  async function onRestoredSnapshot<T>(
    plan: RecoverPlan,
    heartbeat: Heartbeat,
    usePhase: string,
    use: (vault: VaultHttp, token: string) => Promise<T>,
  ): Promise<T> {
    const source = clusterOrFail(deps, plan.cluster);
    const config = source.drill?.ephemeral;
    if (!config) throw failure(FailureType.InvalidInput, `cluster ${source.name} has no drill.ephemeral configured`);
    const run = await withRestoredSnapshot(
      deps,
      { plan: plan.restore, source, config, heartbeat, signal: Context.current().cancellationSignal, usePhase },
      (restored) => use(restored.vault, restored.token),
    );
    return run.result;
  }

  async function step<T>(name: string, body: (heartbeat: Heartbeat) => Promise<T>): Promise<T> {
    const heartbeat = startHeartbeat(name);
    try {
      return await withFailureMapping(() => body(heartbeat));
    } finally {
      heartbeat.stop();
    }
  }

  return {
    /** Everything that needs no server: the cluster's drill.ephemeral, key shares, snapshot, disk, binary, login. */
    async planRecover(input: { cluster: string; snapshot: string }): Promise<RecoverPlan> {
      return withFailureMapping(async () => {
        const cluster = clusterOrFail(deps, input.cluster);
        const config = cluster.drill?.ephemeral;
        if (!config) {
          throw failure(
            FailureType.InvalidInput,
            `recovering secrets of ${cluster.name} restores a snapshot into a throwaway server, and ${cluster.name} has ` +
              'no "drill": {"ephemeral": {...}} configured; add one (README "Recovering single secrets")',
          );
        }
        if (!cluster.keyShares) {
          throw failure(FailureType.KeySharesUnavailable, `cluster ${cluster.name} has no keyShares configured`);
        }
        await loadKeyShares(cluster.keyShares, deps).catch((err: Error) => {
          throw failure(FailureType.KeySharesUnavailable, `cluster ${cluster.name}: ${err.message}`);
        });
        const { key, manifest } = await resolveSnapshot(deps, cluster, input.snapshot);
        const restore: RestorePlan = {
          target: EPHEMERAL_TARGET,
          source: cluster.name,
          targetAddress: 'a throwaway server on loopback',
          targetProtected: false,
          force: true,
          bucket: cluster.storage.bucket,
          key,
          manifest,
          snapshotTakenAt: manifest.createdAt,
          ephemeral: true,
        };
        await checkEphemeralFits(config, restore);
        // The live login, before minutes of restoring: bad credentials fail here.
        await withLiveSession(cluster, () => Promise.resolve());
        return { cluster: cluster.name, restore, protected: cluster.protected };
      });
    },

    /** Reads the requested secrets out of the snapshot and compares each with the live one (names only). */
    async readRecoverItems(input: {
      plan: RecoverPlan;
      request: RecoverRequest;
    }): Promise<{ items: RecoverItem[]; skipped: string[] }> {
      return step('start-server', async (heartbeat) => {
        const cluster = clusterOrFail(deps, input.plan.cluster);
        return onRestoredSnapshot(input.plan, heartbeat, 'read', async (vault, token) => {
          const { secrets, skipped } = await readRequested(vault, token, input.request);
          const items = await withLiveSession(cluster, async (live, liveToken) => {
            const out: RecoverItem[] = [];
            for (const s of secrets) out.push(await compareWithLive(live, liveToken, s));
            return out;
          });
          return { items, skipped };
        });
      });
    },

    /**
     * Writes each planned secret as a new version of its live secret, unless the live secret
     * changed since the plan read it: then nothing is written and the run fails naming it.
     * KV v2 writes use check-and-set with the planned version. A retry skips what an earlier
     * try wrote (recorded in its heartbeat).
     */
    async writeRecoveredSecrets(input: {
      plan: RecoverPlan;
      request: RecoverRequest;
      planned: RecoverItem[];
    }): Promise<RecoverItem[]> {
      return step('start-server', async (heartbeat) => {
        const cluster = clusterOrFail(deps, input.plan.cluster);
        const writtenBefore = recordedByPreviousTry<{ written: Record<string, number | null> }>().written ?? {};
        return onRestoredSnapshot(input.plan, heartbeat, 'write', async (vault, token) => {
          const { secrets } = await readRequested(vault, token, input.request);
          return withLiveSession(cluster, async (live, liveToken) => {
            const planned = new Map(input.planned.map((i) => [i.to, i]));
            const pending = secrets.filter((s) => !planned.get(s.to)?.identical && !(s.to in writtenBefore));
            const changed: string[] = [];
            for (const s of pending) {
              const before = planned.get(s.to);
              const now = await readLive(live, liveToken, s.target.mount, s.target.key);
              const same =
                before !== undefined &&
                now.state === before.live.state &&
                now.version === before.live.version &&
                now.fields.join(',') === before.live.fields.join(',');
              if (!same) {
                changed.push(`${s.to} (planned: ${describeLive(before?.live)}; now: ${describeLive({ ...now })})`);
              }
            }
            if (changed.length > 0) {
              throw failure(
                FailureType.SecretChangedSincePlan,
                `the live secret changed since the plan read it, so nothing was written: ${changed.join('; ')}. ` +
                  'Look at the change, then run the recover again',
              );
            }
            const written: Record<string, number | null> = { ...writtenBefore };
            for (const s of pending) {
              const cas = planned.get(s.to)?.live.version ?? 0;
              let newVersion: number | undefined;
              try {
                newVersion = await writeSecret(live, liveToken, s.target.mount, s.target.key, s.data, cas);
              } catch (err) {
                if (err instanceof VaultRequestError && err.status === 400 && /check-and-set/i.test(err.message)) {
                  throw failure(
                    FailureType.SecretChangedSincePlan,
                    `${s.to} changed while being recovered (check-and-set on version ${cas} refused); ` +
                      `written before it: ${Object.keys(written).join(', ') || 'nothing'}. Run the recover again`,
                  );
                }
                throw err;
              }
              written[s.to] = newVersion ?? null;
              heartbeat.record({ written });
            }
            return input.planned.map((item) =>
              item.to in written
                ? { ...item, written: true, ...(written[item.to] !== null ? { newVersion: written[item.to]! } : {}) }
                : item,
            );
          });
        });
      });
    },
  };
}

function describeLive(live: { state: string; version: number } | undefined): string {
  if (!live) return 'not planned';
  return live.version > 0 ? `${live.state}, version ${live.version}` : live.state;
}
