// The worker's versioning settings: from the image's env to the SDK's deployment options.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadDeploymentVersion } from '../../worker/config';
import { DEFAULT_VERSIONING_BEHAVIOR, versioningBehaviorOf, workerDeploymentOptions } from '../../worker/versioning';

test('no build id: the worker runs unversioned, as local runs and tests do', () => {
  assert.equal(loadDeploymentVersion({}), undefined);
  assert.equal(loadDeploymentVersion({ VSNAP_DEPLOYMENT_NAME: 'vsnap' }), undefined);
  assert.equal(workerDeploymentOptions(undefined), undefined);
});

test('a build id makes a versioned worker whose runs are pinned', () => {
  const version = loadDeploymentVersion({ VSNAP_BUILD_ID: '0.2.0-rc.1' });
  assert.deepEqual(version, { deploymentName: 'vsnap', buildId: '0.2.0-rc.1' });
  assert.deepEqual(workerDeploymentOptions(version), {
    version,
    useWorkerVersioning: true,
    defaultVersioningBehavior: 'PINNED',
  });
});

test('a deployment name with a dot, or a build id with a space, is refused with the variable named', () => {
  assert.throws(
    () => loadDeploymentVersion({ VSNAP_BUILD_ID: 'abc', VSNAP_DEPLOYMENT_NAME: 'vsnap.prod' }),
    (err: unknown) =>
      err instanceof ConfigError && /VSNAP_DEPLOYMENT_NAME=vsnap\.prod must not contain "\."/.test(err.message),
  );
  assert.throws(
    () => loadDeploymentVersion({ VSNAP_BUILD_ID: 'a b' }),
    (err: unknown) => err instanceof ConfigError && /VSNAP_BUILD_ID=a b must be/.test(err.message),
  );
});

test("a workflow's own versioning annotation wins over the worker's default", () => {
  const plain = () => Promise.resolve();
  const annotated = Object.assign(() => Promise.resolve(), {
    workflowDefinitionOptions: { versioningBehavior: 'AUTO_UPGRADE' },
  });
  const dynamic = Object.assign(() => Promise.resolve(), { workflowDefinitionOptions: () => ({}) });
  assert.equal(versioningBehaviorOf(plain), DEFAULT_VERSIONING_BEHAVIOR);
  assert.equal(versioningBehaviorOf(annotated), 'AUTO_UPGRADE');
  assert.equal(versioningBehaviorOf(dynamic), undefined);
});
