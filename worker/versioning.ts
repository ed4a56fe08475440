// Worker Deployment Versioning: which version of vsnap's code a worker is, and which runs it takes.
// A run is pinned to the version that started it, so an upgrade never replays a restore waiting
// for approval against code it was not written by: the old version's pods keep serving their
// runs (draining) while new runs start on the current version.
import type { VersioningBehavior, WorkerDeploymentVersion } from '@temporalio/common';
import type { WorkerDeploymentOptions } from '@temporalio/worker';

/** The Worker Deployment's name when VSNAP_DEPLOYMENT_NAME is unset; one per namespace is enough. */
export const DEFAULT_DEPLOYMENT_NAME = 'vsnap';

/**
 * How runs of every vsnap workflow move between versions: PINNED, they never do. Workflows may
 * change incompatibly between releases (new activities, new steps) only because of this; the
 * replay test refuses AUTO_UPGRADE while a previous release's history no longer replays.
 */
export const DEFAULT_VERSIONING_BEHAVIOR: VersioningBehavior = 'PINNED';

/** The worker's deployment options, or undefined for an unversioned worker (no build id: local runs, tests). */
export function workerDeploymentOptions(
  version: WorkerDeploymentVersion | undefined,
): WorkerDeploymentOptions | undefined {
  if (version === undefined) return undefined;
  return { version, useWorkerVersioning: true, defaultVersioningBehavior: DEFAULT_VERSIONING_BEHAVIOR };
}

/**
 * The behavior a versioned worker gives runs of `workflow`: the workflow's own annotation
 * (`setWorkflowOptions`), else the worker's default. Undefined when the annotation is a function
 * evaluated only inside a run, so nothing can be said of it here.
 */
export function versioningBehaviorOf(workflow: object): VersioningBehavior | undefined {
  const options: unknown = (workflow as { workflowDefinitionOptions?: unknown }).workflowDefinitionOptions;
  if (options === undefined) return DEFAULT_VERSIONING_BEHAVIOR;
  if (typeof options !== 'object' || options === null) return undefined;
  return (options as { versioningBehavior?: VersioningBehavior }).versioningBehavior ?? DEFAULT_VERSIONING_BEHAVIOR;
}

/** The part of the Temporal client's gRPC service `setCurrentVersion` uses. */
export interface DeploymentService {
  setWorkerDeploymentCurrentVersion(request: {
    namespace: string;
    deploymentName: string;
    buildId: string;
    identity: string;
  }): Promise<{ previousDeploymentVersion?: { deploymentName?: string | null; buildId?: string | null } | null }>;
}

export interface SetCurrentVersionOptions {
  namespace: string;
  version: WorkerDeploymentVersion;
  /** How long to wait for the version's workers to poll (the server refuses a version nobody polls). */
  timeoutMs: number;
  /** Called after each refused attempt, with the server's reason. */
  onRetry?: (reason: string) => void;
}

/**
 * Makes `version` the current version of its Worker Deployment: new runs start on it, runs
 * pinned to the previous version stay there (it drains). Retries until the version's workers
 * poll its task queues. Returns the previous current build id, if there was one.
 */
export async function setCurrentVersion(
  service: DeploymentService,
  options: SetCurrentVersionOptions,
): Promise<string | undefined> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    try {
      const response = await service.setWorkerDeploymentCurrentVersion({
        namespace: options.namespace,
        ...options.version,
        identity: `vsnap set-current-version ${options.version.buildId}`,
      });
      return response.previousDeploymentVersion?.buildId || undefined;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (Date.now() > deadline) {
        throw new Error(
          `could not make ${options.version.deploymentName}/${options.version.buildId} current within ` +
            `${options.timeoutMs / 1000}s: ${reason}`,
        );
      }
      options.onRetry?.(reason);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
  }
}
