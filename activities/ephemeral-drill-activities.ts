// A restore drill on a throwaway server: one activity from start to wipe, so the server lives
// and dies with the worker process that started it, and nothing read from it leaves that
// process. The activity heartbeats through every phase; a retry after a killed worker starts
// a fresh server, and the orphan the dead worker left is removed first.
import { Context } from '@temporalio/activity';
import type { RestoreCheck, RestorePlan, StepTiming } from '../workflows/restore-types';
import { FailureType } from '../workflows/names';
import { type ActivityDeps, clusterOrFail } from './deps';
import { withRestoredSnapshot } from './ephemeral/restored-snapshot';
import { failure, withFailureMapping } from './failures';
import { startHeartbeat } from './progress-heartbeat';
import { runRestoreChecks } from './restore-checks';

export interface EphemeralDrillResult {
  checks: RestoreCheck[];
  /** Each phase: start-server, init, restore, unseal, regenerate-root, check. */
  steps: StepTiming[];
  /** From the start of the restore to the last check's end. */
  recoverySeconds: number;
  bytes: number;
}

export function createEphemeralDrillActivities(deps: ActivityDeps) {
  return {
    async drillOnEphemeralServer(input: { plan: RestorePlan; maxAgeDays: number }): Promise<EphemeralDrillResult> {
      const heartbeat = startHeartbeat('start-server');
      try {
        return await withFailureMapping(async () => {
          const { plan } = input;
          const source = clusterOrFail(deps, plan.source);
          const config = source.drill?.ephemeral;
          if (!config) {
            throw failure(FailureType.InvalidInput, `cluster ${source.name} has no drill.ephemeral configured`);
          }
          const signal = Context.current().cancellationSignal;
          const run = await withRestoredSnapshot(
            deps,
            { plan, source, config, heartbeat, signal, usePhase: 'check' },
            async (restored) => {
              const checks = await runRestoreChecks({
                deps,
                vault: restored.vault,
                token: restored.token,
                plan,
                source,
                restoredAt: { address: restored.server.address, caCertFile: restored.server.caFile },
                maxAgeDays: input.maxAgeDays,
                snapshotStorage: restored.snapshotStorage,
                signal,
              });
              return {
                checks,
                recoverySeconds: (Date.now() - restored.restoreStartedAt) / 1000,
                bytes: restored.bytes,
              };
            },
          );
          deps.metrics.snapshotBytes.add(run.result.bytes, { cluster: source.name, direction: 'restore' });
          return { ...run.result, steps: run.steps };
        });
      } finally {
        heartbeat.stop();
      }
    },
  };
}
