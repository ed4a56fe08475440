// Temporal connection settings exactly as the Temporal CLI reads them (the SDK's envconfig):
// TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, and profiles from the
// TOML config file (TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE). Explicit values win. Shared by
// the worker and the CLI, so both reach the same dev server, self-hosted cluster or Cloud.
import { loadClientConnectConfig } from '@temporalio/envconfig';

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';

export interface TemporalTarget {
  address?: string;
  namespace?: string;
  profile?: string;
}

export function temporalConnectConfig(target: TemporalTarget, env: NodeJS.ProcessEnv = process.env) {
  const { connectionOptions, namespace } = loadClientConnectConfig({
    ...(target.profile ? { profile: target.profile } : {}),
    overrideEnvVars: Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)),
  });
  return {
    connectionOptions: {
      ...connectionOptions,
      address: target.address ?? connectionOptions.address ?? DEFAULT_TEMPORAL_ADDRESS,
    },
    namespace: target.namespace ?? namespace ?? 'default',
  };
}
