// The recover workflow's input, plan and report: bringing back single KV secrets out of a
// snapshot into the live cluster. Names, versions and states only: a secret's value never
// appears in any of these, so none reaches workflow history. Pure (workflow sandbox).
import type { ApprovalRecord, RestorePlan, StepTiming } from './restore-types';
import { InputProblems, inputObject } from './input-validation';

export interface RecoverInput {
  /** The cluster whose snapshot holds the secret, and where it is written back (required). */
  cluster: string;
  /** Full KV path, "secret/apps/db", or a folder's keys, "secret/apps/*" (required). */
  path: string;
  /** "latest" (default) or an exact snapshot key. */
  snapshot?: string;
  /** KV v2: the version to bring back. Default: the newest version in the snapshot that holds data. */
  version?: number;
  /** Write here instead of over the original (a path; for a folder, a folder ending in "/"). */
  to?: string;
  /** Read and compare only: report which fields differ (names only); write nothing. */
  dryRun?: boolean;
  /** How long a protected cluster waits for an `approve` update. Default 60. */
  approvalTimeoutMinutes?: number;
}

export interface RecoverOptions {
  cluster: string;
  path: string;
  snapshot: string;
  version?: number;
  to?: string;
  dryRun: boolean;
  approvalTimeoutMinutes: number;
}

/** What a run recovers: one path, or a folder's keys. */
export interface RecoverRequest {
  path: string;
  version?: number;
  to?: string;
}

export interface RecoverPlan {
  cluster: string;
  /** The snapshot, planned as a drill on a throwaway server (the cluster's drill.ephemeral). */
  restore: RestorePlan;
  protected: boolean;
}

/** One secret: where it comes from, where it goes, and how the live one compares (names only). */
export interface RecoverItem {
  path: string;
  to: string;
  kv: 1 | 2;
  /** KV v2: the version read from the snapshot. */
  snapshotVersion?: number;
  /** The live secret at `to` when planned: what the write's check-and-set expects. */
  live: { state: 'absent' | 'deleted' | 'present'; version: number; fields: string[] };
  /** Field names of the snapshot's version. */
  fields: string[];
  changedFields: string[];
  /** In the snapshot, not in the live secret. */
  addedFields: string[];
  /** In the live secret, not in the snapshot: gone from the new version. */
  removedFields: string[];
  /** The live secret already holds exactly this data: nothing to write. */
  identical: boolean;
  /** After the write: true, and the new version (KV v2). */
  written?: boolean;
  newVersion?: number;
}

export interface RecoverReport {
  cluster: string;
  key: string;
  snapshotTakenAt: string;
  path: string;
  dryRun: boolean;
  items: RecoverItem[];
  /** Sub-folders of a folder path, which a folder recover does not descend into. */
  skipped: string[];
  written: number;
  approval?: ApprovalRecord;
  steps: StepTiming[];
}

export const DEFAULT_RECOVER_APPROVAL_MINUTES = 60;
const KV_PATH = /^[\w.-]+(\/[\w.@=+-]+)+$/;
const KV_FOLDER = /^[\w.-]+(\/[\w.@=+-]+)*\/\*$/;
// "." and ".." segments are resolved away in the request URL (by the client, or by Vault's
// redirect), so "secret/apps/../../sys/x" would reach sys/x while the plan and report name secret/.
const noDotSegments = (v: string) => v.split('/').every((s) => s !== '.' && s !== '..');

export function parseRecoverInput(raw: unknown): RecoverOptions {
  const p = new InputProblems('recover', inputObject('recover', raw, '{"cluster":"prod","path":"secret/apps/db"}'), [
    'cluster',
    'path',
    'snapshot',
    'version',
    'to',
    'dryRun',
    'approvalTimeoutMinutes',
  ]);
  const cluster = p.cluster('cluster');
  if (p.fields.cluster === undefined) p.problems.push('"cluster" is required: the cluster to recover secrets into');
  const pathHint =
    'a KV path with its mount, e.g. "secret/apps/db", or a folder\'s keys, "secret/apps/*" (no "." or ".." segments)';
  const path = p.string('path', '', (v) => (KV_PATH.test(v) || KV_FOLDER.test(v)) && noDotSegments(v), pathHint);
  if (p.fields.path === undefined) p.problems.push(`"path" is required: ${pathHint}`);
  const folder = path.endsWith('/*');
  const version = p.positiveNumber('version', undefined, 'a KV v2 version number (1, 2, ...)');
  if (version !== undefined && !Number.isInteger(version)) p.problems.push('"version" must be a whole number');
  if (version !== undefined && folder) p.problems.push('"version" needs a single path, not a folder ("/*")');
  const to =
    p.fields.to === undefined
      ? undefined
      : p.string(
          'to',
          '',
          (v) => (folder ? /^[\w.-]+(\/[\w.@=+-]+)*\/$/.test(v) : KV_PATH.test(v)) && noDotSegments(v),
          folder
            ? 'a folder with its mount, ending in "/", e.g. "secret/recovered/apps/" (no "." or ".." segments)'
            : 'a KV path with its mount (no "." or ".." segments)',
        );
  const options: RecoverOptions = {
    cluster: cluster ?? '',
    path,
    snapshot: p.string(
      'snapshot',
      'latest',
      (v) => v === 'latest' || /^[\w./-]+\.snap$/.test(v),
      '"latest" or a snapshot key ending in .snap',
    ),
    ...(version !== undefined ? { version } : {}),
    ...(to ? { to } : {}),
    dryRun: p.boolean('dryRun', false),
    approvalTimeoutMinutes: p.positiveNumber(
      'approvalTimeoutMinutes',
      DEFAULT_RECOVER_APPROVAL_MINUTES,
      'minutes > 0',
    )!,
  };
  p.done();
  return options;
}
