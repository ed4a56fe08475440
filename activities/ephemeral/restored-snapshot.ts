// A snapshot restored into a throwaway server, for as long as a caller needs it: start the
// server, initialise it with a split like the source's, restore the snapshot with force,
// unseal it (the source's Shamir shares, or the shared auto-unseal seal), regenerate root with
// the source's shares, hand the caller a short-lived root-policy token, then revoke it, stop
// the server and wipe its directory, whatever happened. Runs inside one activity, so the
// server, its keys and anything read from it never leave this worker process.
import type { ClusterConfig, EphemeralDrillConfig } from '../../config/cluster-schema';
import type { RestorePlan, StepTiming } from '../../workflows/restore-types';
import type { ActivityDeps } from '../deps';
import { loadKeyShares } from '../keys/key-shares';
import type { Heartbeat } from '../progress-heartbeat';
import { storageCounter, type StorageCounts } from '../restore-checks';
import { shareSet } from '../restore-keyrings';
import { readLocation, storeAt } from '../storage/snapshot-locations';
import { openVerifiedSnapshot, restoreVerifiedSnapshot } from '../storage/verified-object';
import { unsealWith } from '../vault/generate-root';
import { unsealAndWaitForActive, waitUntilSnapshotTaken } from '../vault/restore-wait';
import { openRootSession, revokeToken } from '../vault/root-session';
import type { VaultHttp } from '../vault/vault-http';
import {
  binaryVersion,
  checkBinaryFits,
  checkRoomFor,
  type EphemeralServer,
  startEphemeralServer,
} from './ephemeral-server';

export interface RestoredSnapshot {
  server: EphemeralServer;
  vault: VaultHttp;
  /** A root-policy token on the restored server, revoked when the caller's body returns. */
  token: string;
  /** The snapshot's storage entries per mount, counted as it was sent. */
  snapshotStorage: StorageCounts;
  /** Milliseconds since epoch when the snapshot started streaming into the server. */
  restoreStartedAt: number;
  bytes: number;
}

export interface EphemeralRun<T> {
  result: T;
  /** The phases' durations, for the report: start-server, init, restore, unseal, regenerate-root, and the caller's. */
  steps: StepTiming[];
}

/**
 * Checks everything that needs no side effect: room on disk, and a binary of the snapshot's
 * product at least its version. Throws EphemeralDrillRefusedError naming the problem.
 */
export async function checkEphemeralFits(config: EphemeralDrillConfig, plan: RestorePlan): Promise<void> {
  checkRoomFor(config, plan.manifest.size);
  checkBinaryFits(config.binary, await binaryVersion(config.binary), plan.manifest.vault.version);
}

export async function withRestoredSnapshot<T>(
  deps: ActivityDeps,
  input: {
    plan: RestorePlan;
    source: ClusterConfig;
    config: EphemeralDrillConfig;
    heartbeat: Heartbeat;
    signal: AbortSignal;
    /** The caller's phase name, for the timings ("check", "read"). */
    usePhase: string;
  },
  use: (restored: RestoredSnapshot) => Promise<T>,
): Promise<EphemeralRun<T>> {
  const { plan, source, config, heartbeat, signal } = input;
  const steps: StepTiming[] = [];
  const timed = async <R>(step: string, fn: () => Promise<R>): Promise<R> => {
    heartbeat.phase(step);
    const began = Date.now();
    const result = await fn();
    steps.push({ step, seconds: (Date.now() - began) / 1000 });
    return result;
  };

  await checkEphemeralFits(config, plan);
  const sourceShares = shareSet(deps, source, `${source.name}'s key shares`, 'source');
  const server = await timed('start-server', () => startEphemeralServer(config, { signal }));
  try {
    const { vault } = server;
    const initRoot = await timed('init', () => initialise(vault, config, () => sourceShares.load(), signal));
    const restoreStartedAt = Date.now();
    const storage = storageCounter();
    const bytes = await timed('restore', async () => {
      const store = storeAt(deps, source, readLocation(plan));
      const snapshot = await openVerifiedSnapshot(store, plan, heartbeat, signal, {
        onStateChunk: storage.onStateChunk,
      });
      const { verified } = snapshot;
      await restoreVerifiedSnapshot(vault, initRoot, snapshot, true, signal);
      await waitUntilSnapshotTaken([vault], initRoot, { heartbeat: () => heartbeat.phase('restore'), signal });
      return verified.bytes;
    });
    await timed('unseal', () =>
      unsealAndWaitForActive([vault], { keyrings: [sourceShares], heartbeat: () => heartbeat.phase('unseal'), signal }),
    );
    const token = await timed('regenerate-root', () =>
      // Nobody else knows this server exists: every generate-root attempt on it is this run's.
      openRootSession(vault, [sourceShares], { ownNonces: [], onStarted: () => undefined, signal }),
    );
    try {
      const result = await timed(input.usePhase, () =>
        use({ server, vault, token, snapshotStorage: storage.counts(), restoreStartedAt, bytes }),
      );
      return { result, steps };
    } finally {
      await revokeToken(vault, token);
    }
  } finally {
    heartbeat.phase('stop-server');
    await server.stop();
  }
}

/**
 * Initialises the server with the source's split (threshold and number of shares): a server
 * initialised with one share uses it as the key itself and cannot take a multi-share keyring.
 * A Shamir server is then unsealed with its own, throwaway keys; an auto-unseal one unseals
 * itself. Returns the initial root token, which the restore replaces.
 */
async function initialise(
  vault: VaultHttp,
  config: EphemeralDrillConfig,
  loadSourceShares: () => ReturnType<typeof loadKeyShares>,
  signal: AbortSignal,
): Promise<string> {
  const source = await loadSourceShares();
  const threshold = source.threshold ?? source.keys.length;
  const shares = Math.max(source.keys.length, threshold);
  const body =
    config.seal.type === 'shamir'
      ? { secret_shares: shares, secret_threshold: threshold }
      : { recovery_shares: shares, recovery_threshold: threshold };
  const init = await vault.request<{ keys_base64?: string[]; root_token: string }>('init throwaway server', {
    method: 'PUT',
    path: '/sys/init',
    json: body,
  });
  if (config.seal.type === 'shamir') {
    await unsealWith(vault, { keys: init.keys_base64 ?? [], threshold });
  }
  await unsealAndWaitForActive([vault], { keyrings: [], heartbeat: () => undefined, signal });
  return init.root_token;
}
