// createActivities: every activity of every vsnap workflow, bound to its dependencies.
import { createBackupActivities } from './backup-activities';
import { createClusterLockActivities } from './cluster-lock-activities';
import { createCopyActivities } from './copy-activities';
import type { ActivityDeps } from './deps';
import { createEphemeralDrillActivities } from './ephemeral-drill-activities';
import { createRecoverActivities } from './recover-activities';
import { instrumentActivities } from './metrics';
import { createRestoreActivities } from './restore-activities';
import { createRestoreCheckActivities } from './restore-check-activities';
import { createRestoreTargetActivities } from './restore-target-activities';

export type { ActivityDeps } from './deps';

export function createActivities(deps: ActivityDeps) {
  return instrumentActivities(
    {
      ...createBackupActivities(deps),
      ...createCopyActivities(deps),
      ...createRestoreActivities(deps),
      ...createClusterLockActivities(),
      ...createRestoreTargetActivities(deps),
      ...createRestoreCheckActivities(deps),
      ...createEphemeralDrillActivities(deps),
      ...createRecoverActivities(deps),
    },
    deps.metrics,
  );
}

export type Activities = ReturnType<typeof createActivities>;
