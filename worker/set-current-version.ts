// The rollout's last step, run once per release by a Job with the new image (or by hand):
// makes the build this image carries (VSNAP_DEPLOYMENT_NAME, VSNAP_BUILD_ID) the current
// version of its Worker Deployment, as soon as its workers poll. New runs then start on it;
// runs pinned to the previous version finish there, on the previous pods (see README "Upgrades").
// Same connection settings as the worker: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TLS, API key.
import './quiet-sdk-warnings';
import { Connection } from '@temporalio/client';
import { ConfigError, loadDeploymentVersion } from './config';
import { temporalConnectConfig } from './temporal-connection';
import { setCurrentVersion } from './versioning';

const DEFAULT_TIMEOUT_SECONDS = 600;

async function main(): Promise<void> {
  const version = loadDeploymentVersion();
  if (!version) throw new ConfigError(['VSNAP_BUILD_ID is not set: this image has no build id to make current']);
  const timeoutSeconds = Number(process.env.VSNAP_SET_CURRENT_TIMEOUT_SECONDS || DEFAULT_TIMEOUT_SECONDS);
  const { connectionOptions, namespace } = temporalConnectConfig({}, process.env);
  const connection = await Connection.connect({
    address: connectionOptions.address,
    ...(connectionOptions.tls !== undefined ? { tls: connectionOptions.tls } : {}),
    ...(connectionOptions.apiKey !== undefined ? { apiKey: connectionOptions.apiKey } : {}),
    ...(connectionOptions.metadata !== undefined ? { metadata: connectionOptions.metadata } : {}),
  });
  try {
    const previous = await setCurrentVersion(connection.workflowService, {
      namespace,
      version,
      timeoutMs: timeoutSeconds * 1000,
      onRetry: (reason) => console.log(`not yet current (${reason}); retrying`),
    });
    console.log(
      `${version.deploymentName}/${version.buildId} is current in namespace ${namespace}` +
        (previous && previous !== version.buildId
          ? `; ${version.deploymentName}/${previous} drains: delete its pods once ` +
            `"temporal worker deployment describe-version --deployment-name ${version.deploymentName} ` +
            `--build-id ${previous}" shows it drained`
          : ''),
    );
  } finally {
    await connection.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(err instanceof ConfigError ? 2 : 1);
  },
);
