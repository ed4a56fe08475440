// The static security scan of what ships: checkov (scripts/checkov-requirements.txt, installed
// by bash scripts/install-tools.sh --test-tools into .tools/checkov-venv) over the prod overlay's render, the
// chart's render with the prod values and deploy/Dockerfile, offline. The free checkov reports
// no severities, so every failed check counts: it fails the test unless
// deploy/security-scan-skips.yaml explains it, and an explanation that matches no failure any
// more fails it too, so that list stays true.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { type Doc, helmTemplate, kustomizeBuild, root, runTool } from './kubernetes-tools';

const SKIPS_FILE = 'deploy/security-scan-skips.yaml';
const KUBERNETES_TOKEN_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

interface Skip {
  check: string;
  name: string;
  resources: string[];
  reason: string;
}
interface CheckResult {
  check_id: string;
  check_name: string;
  resource: string;
}
interface Report {
  failed: CheckResult[];
  evaluated: Set<string>;
}
interface PodSpec {
  automountServiceAccountToken?: boolean;
  volumes: { configMap?: { name: string } }[];
}
interface ClusterAuth {
  method: string;
  jwtPath?: string;
}

const scratch = mkdtempSync(path.join(tmpdir(), 'vsnap-security-scan-'));
const renders = [
  {
    target: 'the prod overlay',
    file: 'kustomize-prod.yaml',
    render: () => kustomizeBuild('deploy/kustomize/overlays/prod'),
  },
  {
    target: 'the chart with prod values',
    file: 'helm-prod.yaml',
    render: () => helmTemplate(['-f', 'deploy/helm/prod-values.yaml']),
  },
];

/** Runs checkov on one file (relative to the repository, or absolute) and reads its JSON report. */
function checkov(file: string, framework: 'kubernetes' | 'dockerfile'): Report {
  const report = path.join(mkdtempSync(path.join(scratch, 'report-')), 'results.json');
  const r = runTool('checkov', [
    ...['-f', file, '--framework', framework, '--compact', '--skip-download'],
    ...['-o', 'cli', '-o', 'json', '--output-file-path', `console,${report}`],
  ]);
  // 1 is "some check failed"; anything else is checkov itself failing.
  assert.ok(r.code === 0 || r.code === 1, `checkov ${file} exited ${r.code}:\n${r.out}`);
  const json = JSON.parse(readFileSync(report, 'utf8')) as {
    results?: { failed_checks?: CheckResult[]; passed_checks?: CheckResult[] };
    summary: { parsing_errors: number; resource_count: number };
  };
  assert.equal(json.summary.parsing_errors, 0, `checkov could not parse ${file}:\n${r.out}`);
  assert.ok(json.summary.resource_count > 0, `checkov found nothing to check in ${file}`);
  const failed = json.results?.failed_checks ?? [];
  const passed = json.results?.passed_checks ?? [];
  return { failed, evaluated: new Set([...failed, ...passed].map((c) => c.resource)) };
}

/** A checkov resource id pattern: `*` matches any text, everything else itself. */
const matchesResource = (pattern: string, resource: string): boolean => {
  const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${pattern.split('*').map(literal).join('.*')}$`).test(resource);
};
const explains = (skip: Skip, result: CheckResult): boolean =>
  skip.check === result.check_id && skip.resources.some((pattern) => matchesResource(pattern, result.resource));

const workloadId = (d: Doc): string => `${d.kind}.security.${d.metadata.name}`;
const workerPod = (docs: Doc[]): PodSpec => {
  const deployment = docs.find((d) => d.kind === 'Deployment');
  assert.ok(deployment, 'no Deployment rendered');
  return (deployment.spec as { template: { spec: PodSpec } }).template.spec;
};

/** Renders both, scans them and the Dockerfile: once, for all the tests below. */
function scanEverything() {
  const rendered = renders.map(({ target, file, render }) => {
    const { text, docs } = render();
    const at = path.join(scratch, file);
    writeFileSync(at, text);
    return { target, docs, report: checkov(at, 'kubernetes') };
  });
  const reports = [...rendered, { target: 'deploy/Dockerfile', report: checkov('deploy/Dockerfile', 'dockerfile') }];
  const failures = reports.flatMap(({ target, report }) => report.failed.map((result) => ({ target, result })));
  return { rendered, failures };
}
let scanned: ReturnType<typeof scanEverything> | undefined;
const scan = () => (scanned ??= scanEverything());

describe('security scan (checkov)', () => {
  const skips = parse(readFileSync(path.join(root, SKIPS_FILE), 'utf8')) as Skip[];
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it(`leaves no failed check that ${SKIPS_FILE} does not explain`, () => {
    const unexplained = scan()
      .failures.filter(({ result }) => !skips.some((skip) => explains(skip, result)))
      .map(({ target, result }) => `${target}: ${result.check_id} "${result.check_name}" on ${result.resource}`);
    assert.deepEqual(unexplained, [], 'fix these, or explain them in the skips file');
  });

  it(`lists in ${SKIPS_FILE} only findings that still occur, each with its reason`, () => {
    const stale = skips.flatMap((skip) => {
      assert.match(skip.check, /^CKV_[A-Z0-9]+_\d+$/, `not a checkov id: ${skip.check}`);
      assert.ok(skip.reason?.trim(), `${skip.check} has no reason`);
      const own = scan().failures.filter(({ result }) => result.check_id === skip.check);
      for (const { result } of own) assert.equal(skip.name, result.check_name, `${skip.check}'s name`);
      return skip.resources
        .filter((pattern) => !own.some(({ result }) => matchesResource(pattern, result.resource)))
        .map((pattern) => `${skip.check} on ${pattern}`);
    });
    assert.deepEqual(stale, [], 'these no longer fail: delete them from the skips file');
  });

  it('checks every workload it renders (so a clean scan means something)', () => {
    for (const { target, docs, report } of scan().rendered) {
      const workloads = docs.filter((d) => d.kind === 'Deployment' || d.kind === 'Job');
      assert.equal(workloads.length, 2, `${target}: the worker Deployment and the Job`);
      for (const d of workloads)
        assert.ok(report.evaluated.has(workloadId(d)), `${target}: ${workloadId(d)} not checked`);
    }
  });

  it("mounts no Kubernetes API token into the worker, and no shipped config's Vault login reads one", () => {
    for (const { target, docs } of scan().rendered) {
      const pod = workerPod(docs);
      assert.equal(pod.automountServiceAccountToken, false, `${target}: the worker pod mounts the API token`);
      const configMaps = new Set(pod.volumes.flatMap((v) => (v.configMap ? [v.configMap.name] : [])));
      const config = docs.find(
        (d) => d.kind === 'ConfigMap' && configMaps.has(d.metadata.name) && d.data?.['config.json'],
      );
      assert.ok(config?.data, `${target}: no config.json mounted`);
      const clusters = (JSON.parse(config.data['config.json']) as { clusters: { name: string; auth: ClusterAuth }[] })
        .clusters;
      for (const { name, auth } of clusters.filter((c) => c.auth.method === 'kubernetes')) {
        // jwtPath defaults to the automounted token (worker/config.ts).
        const jwtPath = auth.jwtPath ?? `${KUBERNETES_TOKEN_DIR}/token`;
        assert.ok(
          !jwtPath.startsWith(KUBERNETES_TOKEN_DIR),
          `${target}: cluster ${name} logs in with the unmounted ${jwtPath}`,
        );
      }
    }
  });
});
