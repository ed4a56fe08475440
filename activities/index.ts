// createActivities: every activity of every vsnap workflow, bound to its dependencies.
import { createBackupActivities } from './backup-activities';
import type { ActivityDeps } from './deps';
import { instrumentActivities } from './metrics';
import { createRestoreActivities } from './restore-activities';

export type { ActivityDeps } from './deps';

export function createActivities(deps: ActivityDeps) {
  return instrumentActivities(
    {
      ...createBackupActivities(deps),
      ...createRestoreActivities(deps),
    },
    deps.metrics,
  );
}

export type Activities = ReturnType<typeof createActivities>;
