// Offline checks of the Helm chart deploy/helm/vsnap: it lints, renders with the default and the
// production values into manifests that validate strictly, ships a config the worker accepts,
// and runs the same worker as the Kustomize manifests (base for the defaults, the prod overlay
// for deploy/helm/prod-values.yaml). Helm comes from bash scripts/install-tools.sh.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadConfig } from '../../worker/config';
import {
  assertValidStrictly,
  BUILT_IN_KINDS,
  CHART,
  type Doc,
  helmTemplate,
  kustomizeBuild,
  RELEASE,
  root,
  runTool,
} from './kubernetes-tools';

const BUILT_IN = BUILT_IN_KINDS;
// CRDs without a schema in the validator; they are skipped, nothing else may be.
const CRD_KINDS = ['ExternalSecret', 'ServiceMonitor', 'PrometheusRule'];
// Each values file and the Kustomize build that runs the same worker.
const VARIANTS = [
  { name: 'default values', valueArgs: [] as string[], kustomize: 'deploy/kustomize/base' },
  {
    name: 'prod values',
    valueArgs: ['-f', 'deploy/helm/prod-values.yaml'],
    kustomize: 'deploy/kustomize/overlays/prod',
  },
];

interface Container {
  name: string;
  image: string;
  command?: string[];
  envFrom: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  env: { name: string; value: string }[];
  volumeMounts: { name: string; mountPath: string }[];
  [field: string]: unknown;
}
interface PodSpec {
  containers: Container[];
  volumes: { name: string; configMap?: { name: string }; [source: string]: unknown }[];
  [field: string]: unknown;
}
interface WorkloadSpec {
  replicas?: number;
  selector?: { matchLabels: Record<string, string> };
  template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
}

const one = (docs: Doc[], kind: string): Doc => {
  const found = docs.filter((d) => d.kind === kind);
  assert.equal(found.length, 1, `expected one ${kind}, got ${found.length}`);
  return found[0];
};
const workload = (docs: Doc[], kind: 'Deployment' | 'Job'): WorkloadSpec => one(docs, kind).spec as WorkloadSpec;
const configMap = (docs: Doc[], name: string | undefined): Record<string, string> => {
  const found = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === name);
  assert.ok(found?.data, `no ConfigMap ${name}`);
  return found.data;
};

const omit = <T extends object>(value: T, ...keys: string[]): Partial<T> =>
  Object.fromEntries(Object.entries(value).filter(([k]) => !keys.includes(k))) as Partial<T>;
const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);
/** The label selector of a NetworkPolicy, PodDisruptionBudget or Service. */
const selectorOf = (doc: Doc | undefined): Record<string, string> => {
  const spec = doc?.spec as { podSelector?: { matchLabels: Record<string, string> }; selector: unknown };
  return (
    spec.podSelector?.matchLabels ??
    (spec.selector as { matchLabels?: Record<string, string> }).matchLabels ??
    (spec.selector as Record<string, string>)
  );
};
const workerPolicy = (docs: Doc[]): Doc | undefined =>
  docs.find((d) => d.kind === 'NetworkPolicy' && d.metadata.name === RELEASE);

/** The worker container as the Kustomize and Helm renders must agree on it: names of generated objects aside. */
function comparableWorker(docs: Doc[]) {
  const pod = workload(docs, 'Deployment').template.spec;
  const worker = pod.containers[0];
  // The base sets no pull policy; the chart's IfNotPresent is what Kubernetes defaults a tag to.
  const container = omit(worker, 'image', 'envFrom', 'imagePullPolicy');
  const volumes = pod.volumes.map((v) => (v.configMap ? { ...v, configMap: 'named' } : v));
  const sources = worker.envFrom.map((e) => (e.configMapRef ? 'configMap' : 'secret'));
  const podFields = omit(pod, 'containers', 'serviceAccountName', 'volumes');
  return { image: worker.image, sources, serviceAccountName: pod.serviceAccountName, container, volumes, podFields };
}

/** The worker's env ConfigMap and its config.json, as the worker reads them. */
function workerSettings(docs: Doc[]): {
  env: Record<string, string>;
  configFile: string;
  seal?: Record<string, string>;
} {
  const pod = workload(docs, 'Deployment').template.spec;
  const envName = pod.containers[0].envFrom.find((e) => e.configMapRef)?.configMapRef?.name;
  const volume = (name: string) => pod.volumes.find((v) => v.name === name)?.configMap?.name;
  return {
    env: configMap(docs, envName),
    configFile: configMap(docs, volume('config'))['config.json'],
    seal: volume('seal') ? configMap(docs, volume('seal')) : undefined,
  };
}

const alertRules = (): unknown => parse(readFileSync(path.join(root, 'deploy/prometheus/vsnap-alerts.yaml'), 'utf8'));

describe('helm lint', () => {
  for (const { name, valueArgs } of VARIANTS) {
    it(`passes with the ${name}, strict`, () => {
      const r = runTool('helm', ['lint', '--strict', CHART, ...valueArgs]);
      assert.equal(r.code, 0, `helm lint found problems:\n${r.out}`);
      assert.match(r.out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });
  }
});

for (const { name, valueArgs, kustomize: kustomizeDir } of VARIANTS) {
  describe(`helm template, ${name}`, () => {
    it('renders and validates strictly; only CRD kinds are skipped', () => {
      const { text, docs } = helmTemplate(valueArgs);
      assertValidStrictly(text, BUILT_IN, CRD_KINDS);
      for (const kind of CRD_KINDS) one(docs, kind);
    });

    it('ships a config the worker accepts, at the path VSNAP_CONFIG names', () => {
      const { docs } = helmTemplate(valueArgs);
      const { env, configFile } = workerSettings(docs);
      const pod = workload(docs, 'Deployment').template.spec;
      const at = pod.containers[0].volumeMounts.find((m) => m.name === 'config')?.mountPath;
      assert.equal(env.VSNAP_CONFIG, `${at}/config.json`);
      const file = path.join(mkdtempSync(path.join(tmpdir(), 'vsnap-helm-config-')), 'config.json');
      writeFileSync(file, configFile);
      const config = loadConfig({ ...env, VSNAP_CONFIG: file, APPROLE_ROLE_ID: 'r', APPROLE_SECRET_ID: 's' });
      assert.ok(config.clusters.length >= 1);
      assert.equal(config.metricsAddress, '0.0.0.0:9464');
      assert.equal(config.healthAddress, '0.0.0.0:8080');
    });

    it(`runs the same worker as ${kustomizeDir}`, () => {
      const helm = helmTemplate(valueArgs).docs;
      const kust = kustomizeBuild(kustomizeDir).docs;
      const h = comparableWorker(helm);
      const k = comparableWorker(kust);
      // The base leaves the image a placeholder for the overlays to set.
      if (kustomizeDir.endsWith('/base')) assert.match(h.image, /\/vsnap-worker:0\.1\.0$/);
      else assert.equal(h.image, k.image);
      assert.deepEqual(h.sources, k.sources);
      assert.equal(h.serviceAccountName, k.serviceAccountName);
      assert.deepEqual(h.container, k.container);
      assert.deepEqual(h.volumes, k.volumes);
      assert.deepEqual(h.podFields, k.podFields);
      const hs = workerSettings(helm);
      const ks = workerSettings(kust);
      assert.deepEqual(hs.env, ks.env);
      // "$schema" points editors of the Kustomize file at schemas/; the worker ignores it.
      const forWorker = (file: string) => ({ ...(JSON.parse(file) as object), $schema: undefined });
      assert.deepEqual(forWorker(hs.configFile), forWorker(ks.configFile));
      // The base's stanza file carries its explanation as HCL comments; values.yaml has it beside the value.
      const stanzas = (seal: Record<string, string> = {}) =>
        Object.fromEntries(Object.entries(seal).map(([f, hcl]) => [f, hcl.replace(/^#.*\n/gm, '')]));
      assert.deepEqual(stanzas(hs.seal), stanzas(ks.seal));
      assert.equal(workload(helm, 'Deployment').replicas, workload(kust, 'Deployment').replicas);
      for (const kind of ['ServiceAccount', 'ExternalSecret', 'PodDisruptionBudget', 'Service']) {
        const [hd, kd] = [one(helm, kind), one(kust, kind)];
        assert.equal(hd.metadata.name, kd.metadata.name, `${kind} name`);
        assert.deepEqual(hd.metadata.annotations, kd.metadata.annotations, `${kind} annotations`);
        const withoutSelector = (spec: unknown) => ({ ...(spec as object), selector: undefined });
        assert.deepEqual(withoutSelector(hd.spec), withoutSelector(kd.spec), `${kind} spec`);
      }
      const rules = (docs: Doc[]) => omit(workerPolicy(docs)?.spec as object, 'podSelector');
      assert.deepEqual(rules(helm), rules(kust));
    });

    it("rolls out each image tag as a Deployment of its own, made current by the tag's Job", () => {
      const { docs } = helmTemplate(valueArgs);
      const deployment = one(docs, 'Deployment');
      const spec = workload(docs, 'Deployment');
      const worker = spec.template.spec.containers[0];
      const tag = worker.image.split(':')[1];
      assert.equal(deployment.metadata.name, `vsnap-worker-${tag}`);
      assert.equal(spec.selector?.matchLabels['app.kubernetes.io/version'], tag);
      assert.equal(spec.template.metadata.labels['app.kubernetes.io/version'], tag);
      assert.equal(deployment.metadata.annotations?.['helm.sh/resource-policy'], 'keep', 'helm upgrade keeps it');
      const job = one(docs, 'Job');
      const setCurrent = workload(docs, 'Job').template.spec.containers[0];
      assert.match(job.metadata.annotations?.['helm.sh/hook'] ?? '', /post-upgrade/);
      assert.equal(setCurrent.image, worker.image);
      assert.deepEqual(setCurrent.command, ['node', 'dist/worker/set-current-version.js']);
      assert.deepEqual(setCurrent.envFrom, [worker.envFrom[0]], "the Job reaches Temporal with the workers' settings");
      // The worker's NetworkPolicy, PDB and Service cover every tag's pods but never the Job's.
      const jobLabels = workload(docs, 'Job').template.metadata.labels;
      const anyTag = omit(spec.template.metadata.labels, 'app.kubernetes.io/version') as Record<string, string>;
      for (const doc of [workerPolicy(docs), one(docs, 'PodDisruptionBudget'), one(docs, 'Service')]) {
        const selector = selectorOf(doc);
        assert.ok(matches(selector, anyTag), `${JSON.stringify(selector)} selects the workers of any tag`);
        assert.ok(!matches(selector, jobLabels), `${JSON.stringify(selector)} does not select the Job`);
      }
    });

    it('scrapes the metrics Service and carries the alert rules of deploy/prometheus', () => {
      const { docs } = helmTemplate(valueArgs);
      const service = one(docs, 'Service');
      const monitor = one(docs, 'ServiceMonitor').spec as {
        selector: { matchLabels: Record<string, string> };
        endpoints: { port: string }[];
      };
      assert.ok(matches(monitor.selector.matchLabels, service.metadata.labels ?? {}));
      const ports = (service.spec as { ports: { name: string }[] }).ports.map((p) => p.name);
      assert.ok(ports.includes(monitor.endpoints[0].port));
      assert.deepEqual(one(docs, 'PrometheusRule').spec, alertRules());
    });
  });
}

describe('helm values', () => {
  it('sizes the drills emptyDir from drills.sizeLimit', () => {
    const { docs } = helmTemplate(['--set', 'drills.sizeLimit=9Gi']);
    const drills = workload(docs, 'Deployment').template.spec.volumes.find((v) => v.name === 'drills');
    assert.deepEqual(drills?.emptyDir, { sizeLimit: '9Gi' });
  });

  it('turns the ServiceMonitor, PrometheusRule, NetworkPolicy, PDB and ExternalSecret off', () => {
    const { text, docs } = helmTemplate(
      [
        ...['metrics.serviceMonitor.enabled', 'prometheusRule.enabled', 'networkPolicy.enabled'],
        ...['podDisruptionBudget.enabled', 'externalSecret.enabled'],
      ].flatMap((flag) => ['--set', `${flag}=false`]),
    );
    for (const kind of [...CRD_KINDS, 'NetworkPolicy', 'PodDisruptionBudget']) {
      assert.ok(!docs.some((d) => d.kind === kind), `${kind} still rendered`);
    }
    assertValidStrictly(text, ['Deployment', 'Job', 'Service', 'ServiceAccount', 'ConfigMap'], []);
  });

  it('documents every value in values.yaml with a comment', () => {
    const text = readFileSync(path.join(root, CHART, 'values.yaml'), 'utf8');
    assert.deepEqual(undocumentedValues(text), []);
  });

  it('carries an exact copy of deploy/prometheus/vsnap-alerts.yaml (cp it after editing the rules)', () => {
    const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
    assert.equal(read(`${CHART}/files/vsnap-alerts.yaml`), read('deploy/prometheus/vsnap-alerts.yaml'));
  });
});

/**
 * The values with no comment: a value is documented by a comment on the line right above it, or
 * above one of the keys it is nested in (the clusters of `config`, the stanzas of `seal`).
 */
function undocumentedValues(text: string): string[] {
  const lines = text.split('\n');
  const parents: { indent: number; commented: boolean }[] = [];
  const missing: string[] = [];
  lines.forEach((line, i) => {
    const key = /^(\s*)(?:- )?([\w.-]+):\s*(.*)$/.exec(line);
    if (!key || /^\s*#/.test(line)) return;
    const indent = key[1].length;
    while (parents.length > 0 && parents[parents.length - 1].indent >= indent) parents.pop();
    const commented = /^\s*#/.test(lines[i - 1] ?? '') || parents.some((p) => p.commented);
    const isBlock = key[3] === '' || key[3].startsWith('|');
    if (!isBlock || key[3].startsWith('|')) {
      if (!commented) missing.push(`line ${i + 1}: ${line.trim()}`);
    }
    if (isBlock) parents.push({ indent, commented });
  });
  return missing;
}
