// The pinned deploy tools (bash scripts/install-tools.sh) as the deploy tests call them: render
// (Kustomize, Helm), then validate strictly and offline against Kubernetes' schemas, CRD kinds
// excepted by name, or scan (checkov, test/deploy/security-scan.test.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

export const root = path.resolve(__dirname, '../..');
export const CHART = 'deploy/helm/vsnap';
// The release name the IRSA role trusts (system:serviceaccount:security:vsnap-worker): with it,
// every object is named as in the Kustomize manifests.
export const RELEASE = 'vsnap-worker';
// The oldest Kubernetes we expect to deploy to (EKS standard support); the tool ships 1.25+.
const K8S_VERSION = '1.30.0';
// Helm keeps no state between tests, and none in the user's home.
const helmHome = mkdtempSync(path.join(tmpdir(), 'vsnap-helm-'));

/** Kinds the validator must check: a missing schema would otherwise only be a WARN. */
export const BUILT_IN_KINDS = [
  'Deployment',
  'Job',
  'Service',
  'PodDisruptionBudget',
  'NetworkPolicy',
  'ServiceAccount',
  'ConfigMap',
];

/** Just the fields the deploy tests read. */
export interface Doc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: unknown;
  data?: Record<string, string>;
}

/** Runs a tool from .tools/ (venv/bin/<tool>, checkov-venv/bin/<tool>, or bin/<tool> for the Go-built ones). */
export function runTool(tool: string, args: string[], input?: string): { code: number | null; out: string } {
  const exe = ['.tools/venv/bin', '.tools/checkov-venv/bin', '.tools/bin']
    .map((dir) => path.join(root, dir, tool))
    .find(existsSync);
  assert.ok(exe, `${tool} is missing from .tools/: run bash scripts/install-tools.sh --test-tools`);
  const env = {
    ...process.env,
    HELM_CACHE_HOME: path.join(helmHome, 'cache'),
    HELM_CONFIG_HOME: path.join(helmHome, 'config'),
    HELM_DATA_HOME: path.join(helmHome, 'data'),
    // checkov stays offline: no PyPI lookup for a newer version, no Prisma Cloud platform.
    CKV_SKIP_PACKAGE_UPDATE_CHECK: 'true',
    BC_API_KEY: undefined,
  };
  const r = spawnSync(exe, args, { cwd: root, env, input, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

export function parseDocs(text: string): Doc[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);
}

/** `kubectl kustomize` of a Kustomize directory. */
export function kustomizeBuild(dir: string): { text: string; docs: Doc[] } {
  const r = runTool('kubectl', ['kustomize', dir]);
  assert.equal(r.code, 0, `kubectl kustomize ${dir} failed:\n${r.out}`);
  return { text: r.out, docs: parseDocs(r.out) };
}

/** `helm template` of the chart as release RELEASE in the `security` namespace, with these values args. */
export function helmTemplate(valueArgs: string[]): { text: string; docs: Doc[] } {
  const r = runTool('helm', ['template', RELEASE, CHART, '--namespace', 'security', ...valueArgs]);
  assert.equal(r.code, 0, `helm template ${valueArgs.join(' ')} failed:\n${r.out}`);
  return { text: r.out, docs: parseDocs(r.out) };
}

export function validate(text: string): { code: number | null; out: string } {
  return runTool('kubernetes-validate', ['-k', K8S_VERSION, '--strict', '-'], text);
}

/**
 * Validates rendered manifests strictly: every document of a built-in kind must be reported as
 * passed (a missing schema would otherwise only be a WARN), and only the CRD kinds may be skipped.
 */
export function assertValidStrictly(text: string, builtIn: string[], crdKinds: string[]): void {
  const docs = parseDocs(text);
  const r = validate(text);
  assert.equal(r.code, 0, `validation failed:\n${r.out}`);
  for (const kind of builtIn) {
    const ofKind = docs.filter((d) => d.kind === kind);
    assert.ok(ofKind.length > 0, `no ${kind} rendered`);
    for (const d of ofKind) {
      const re = new RegExp(`^INFO .* passed for resource ${kind.toLowerCase()}/${d.metadata.name} `, 'm');
      assert.match(r.out, re, `${kind}/${d.metadata.name} was not validated:\n${r.out}`);
    }
  }
  for (const d of docs) {
    assert.ok(builtIn.includes(d.kind) || crdKinds.includes(d.kind), `unexpected kind ${d.kind}`);
  }
  for (const warn of r.out.split('\n').filter((l) => l.startsWith('WARN'))) {
    assert.ok(
      crdKinds.some((k) => warn.includes(`kind ${k} `)),
      `unexpected skip: ${warn}`,
    );
  }
}
