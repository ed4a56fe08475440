// `--from` of restore and verify, checked against the worker's config when the CLI has it
// (VSNAP_CONFIG): a copy the cluster does not have is a usage error (exit 2) before any run
// starts. Without the config the worker's plan refuses it with the same words.
import { fromProblem } from '../activities/storage/snapshot-locations';
import { ConfigError, loadConfig, type VsnapConfig } from '../worker/config';
import { UsageError } from './cli';

/** Which cluster's copies `from` names: the run's source, as the plan will resolve it. */
export type SourceOf = (config: VsnapConfig) => string | undefined;

export function assertFromIsConfigured(
  command: string,
  from: string | undefined,
  sourceOf: SourceOf,
  env: NodeJS.ProcessEnv = process.env,
): void {
  if (from === undefined || !env.VSNAP_CONFIG) return;
  let config: VsnapConfig;
  try {
    config = loadConfig(env);
  } catch (err) {
    // A config this CLI cannot read is the worker's to judge; its plan checks `from` again.
    if (err instanceof ConfigError) return;
    throw err;
  }
  const name = sourceOf(config);
  const cluster = config.clusters.find((c) => c.name === name);
  const problem = cluster && fromProblem(cluster, from);
  if (problem) throw new UsageError(`vsnap ${command}: ${problem}`);
}
