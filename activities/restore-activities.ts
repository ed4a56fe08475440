// The restore's steps that do not touch the target: plan (every check that needs no side
// effect), the verifying fetch of the stored object, a drill's verdict and its notification.
// The steps on the target are in restore-target-activities.ts and restore-check-activities.ts.
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Context } from '@temporalio/activity';
import { EPHEMERAL_TARGET, FailureType } from '../workflows/names';
import type {
  PlanLocation,
  RestorePlan,
  RestorePlanRequest,
  SkippedLocation,
  VerificationRecord,
} from '../workflows/restore-types';
import type { ClusterConfig } from '../config/cluster-schema';
import { type ActivityDeps, clusterOrFail, vaultFor } from './deps';
import { checkEphemeralFits } from './ephemeral/restored-snapshot';
import { resolveSnapshotFrom, snapshotUnavailable } from './storage/resolve-snapshot';
import { locationProblem, readLocation, storeAt } from './storage/snapshot-locations';
import { failure, withFailureMapping } from './failures';
import { type Heartbeat, startHeartbeat } from './progress-heartbeat';
import { loadKeyShares } from './keys/key-shares';
import { verificationKeyFor } from './storage/snapshot-keys';
import { openVerifiedSnapshot } from './storage/verified-object';

/** Reads of one unreachable location before "any" passes to the next (each read has the SDK's 3 attempts). */
const LOCATION_ATTEMPTS = 2;
const LOCATION_RETRY_MS = 1000;

export function createRestoreActivities(deps: ActivityDeps) {
  async function requireKeyShares(c: ClusterConfig): Promise<void> {
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

  /** A drill into a throwaway server: the source's drill.ephemeral, checked up front (disk, size, binary). */
  async function planEphemeralDrill(input: RestorePlanRequest): Promise<RestorePlan> {
    if (!input.source) {
      throw failure(
        FailureType.InvalidInput,
        'no drill cluster is configured; name the cluster to drill ("cluster": "prod") to drill it on a throwaway server',
      );
    }
    const source = clusterOrFail(deps, input.source);
    const config = source.drill?.ephemeral;
    if (!config) {
      throw failure(
        FailureType.InvalidInput,
        `no drill cluster for "${source.name}" is configured and it has no "drill": {"ephemeral": {...}}; ` +
          `give it one (README "Restore drills"), or set "target" to a cluster whose drillSource is ${source.name}`,
      );
    }
    await requireKeyShares(source);
    const { key, manifest, ...readFrom } = await resolveSnapshotFrom(deps, source, input.snapshot, input.from);
    const plan: RestorePlan = {
      target: EPHEMERAL_TARGET,
      source: source.name,
      targetAddress: 'a throwaway server on loopback',
      targetProtected: false,
      force: true,
      bucket: source.storage.bucket,
      key,
      manifest,
      snapshotTakenAt: manifest.createdAt,
      ...readFrom,
      ephemeral: true,
    };
    await checkEphemeralFits(config, plan);
    return plan;
  }

  /** The planned object, from its location, through the SHA-256 and archive checks, to nowhere. */
  async function readVerified(plan: RestorePlan, heartbeat: Heartbeat): Promise<{ bytes: number; raftIndex: number }> {
    const signal = Context.current().cancellationSignal;
    const store = storeAt(deps, clusterOrFail(deps, plan.source), readLocation(plan));
    const { body, verified } = await openVerifiedSnapshot(store, plan, heartbeat, signal);
    const sink = new Writable({ write: (_chunk, _enc, done) => done() });
    await pipeline(body, verified, sink, { signal });
    return { bytes: verified.bytes, raftIndex: verified.facts?.raftIndex ?? 0 };
  }

  return {
    /** Resolves target, source and snapshot and checks every precondition, with no side effect. */
    async planRestore(input: RestorePlanRequest): Promise<RestorePlan> {
      return withFailureMapping(async () => {
        const drillCluster = input.target
          ? undefined
          : deps.config.clusters.find(
              (c) => c.drillSource !== undefined && (!input.source || c.drillSource === input.source),
            );
        if (input.target === EPHEMERAL_TARGET || (!input.target && !drillCluster)) return planEphemeralDrill(input);
        const target = drillCluster ?? clusterOrFail(deps, input.target);
        const source = clusterOrFail(deps, input.source ?? target.drillSource ?? target.name);
        const force = source.name !== target.name;
        if (force && target.drillSource !== source.name && !input.force) {
          throw failure(
            FailureType.InvalidInput,
            `restoring a snapshot of "${source.name}" into "${target.name}" replaces ${target.name}'s data with another cluster's; ` +
              `pass "force": true if that is intended, or set drillSource: "${source.name}" on ${target.name}`,
          );
        }
        for (const c of force ? [source, target] : [target]) await requireKeyShares(c);
        const { key, manifest, ...readFrom } = await resolveSnapshotFrom(deps, source, input.snapshot, input.from);
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
          bucket: source.storage.bucket,
          key,
          manifest,
          snapshotTakenAt: manifest.createdAt,
          ...readFrom,
        };
      });
    },

    /** Streams the object from S3 through the SHA-256 and archive checks, to nowhere. */
    async fetchSnapshot(plan: RestorePlan): Promise<{ bytes: number; raftIndex: number }> {
      return withFailureMapping(async () => {
        const heartbeat = startHeartbeat('fetch');
        try {
          return await readVerified(plan, heartbeat);
        } finally {
          heartbeat.stop();
        }
      });
    },

    /**
     * "from": "any": reads the object from each candidate location in turn through the same
     * checks as fetchSnapshot, and answers the first that passes, before anything touches the
     * target. A damaged or missing object passes on at once; an unreachable location after
     * LOCATION_ATTEMPTS reads (each with the SDK's own retries), so a dead primary costs seconds,
     * not Temporal's retries. None left: SnapshotUnavailable, naming each location's problem.
     */
    async chooseSnapshotLocation(
      plan: RestorePlan,
    ): Promise<{ location: PlanLocation; skipped: SkippedLocation[]; bytes: number }> {
      return withFailureMapping(async () => {
        const ctx = Context.current();
        const heartbeat = startHeartbeat('fetch');
        const skipped = [...(plan.skipped ?? [])];
        try {
          for (const location of plan.candidates ?? [readLocation(plan)]) {
            for (let attempt = 1; ; attempt++) {
              try {
                const { bytes } = await readVerified({ ...plan, location }, heartbeat);
                return { location, skipped, bytes };
              } catch (err) {
                const problem = ctx.cancellationSignal.aborted ? undefined : locationProblem(err, plan.manifest);
                if (!problem) throw err;
                if (problem.startsWith('unreachable') && attempt < LOCATION_ATTEMPTS) {
                  await ctx.sleep(LOCATION_RETRY_MS * attempt);
                  continue;
                }
                deps.logger.warn(
                  { cluster: plan.source, location: location.name, problem },
                  'snapshot location skipped',
                );
                skipped.push({ name: location.name, problem });
                break;
              }
            }
          }
          throw snapshotUnavailable(plan.source, plan.key, skipped);
        } finally {
          heartbeat.stop();
        }
      });
    },

    /** Records a drill's verdict next to the snapshot's manifest, for `vsnap snapshots list`. */
    async recordVerification(input: { source: string; key: string; record: VerificationRecord }): Promise<void> {
      return withFailureMapping(async () => {
        const { bucket, kmsKeyId } = clusterOrFail(deps, input.source).storage;
        await deps.store.putRecord(bucket, verificationKeyFor(input.key), input.record, kmsKeyId);
        deps.metrics.drillPassed.set(input.record.passed ? 1 : 0, { cluster: input.source });
        if (input.record.passed && input.record.recoverySeconds !== undefined) {
          deps.metrics.drillRecoverySeconds.set(input.record.recoverySeconds, { cluster: input.source });
        }
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
}
