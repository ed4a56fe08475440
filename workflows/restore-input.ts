// Inputs of the restore and verify workflows: one JSON object each, with defaults, so the
// Temporal UI's "Start Workflow" works with {"target":"drill"}. Pure (workflow sandbox).
import { CLUSTER_NAME, InputProblems, inputObject } from './input-validation';
import { EPHEMERAL_TARGET } from './names';

/** `from` values besides a copy's name (config/cluster-schema.ts reserves them). */
export const PRIMARY_LOCATION = 'primary';
export const ANY_LOCATION = 'any';
const FROM_HINT = '"primary", "any" or the name of a copy (storage.copies), e.g. "offsite"';

export interface RestoreInput {
  /** Cluster to restore into (required). */
  target: string;
  /** "latest" (default) or an exact snapshot key. */
  snapshot?: string;
  /** Cluster whose snapshot to restore. Default: the target's drillSource, else the target. */
  source?: string;
  /** Required to restore another cluster's snapshot into a target that is not its drill. */
  force?: boolean;
  /** Fetch and validate only; the target is not touched. */
  dryRun?: boolean;
  /** How long a protected target waits for an `approve` update. Default 60. */
  approvalTimeoutMinutes?: number;
  /** The canary must be younger than this. Default 8 (the cron-job procedure's 691200 s). */
  maxAgeDays?: number;
  /**
   * Where to read the snapshot: "primary" (default), a copy's name, or "any" (the primary, then
   * each copy in config order, passing over one that is unreachable or damaged).
   */
  from?: string;
}

export interface VerifyInput {
  /** The cluster whose backup is drilled. Default: the drill cluster's drillSource. */
  cluster?: string;
  /**
   * The drill cluster. Default: the cluster whose drillSource is `cluster`, else a throwaway
   * server (the cluster's drill.ephemeral). "ephemeral" asks for the throwaway server.
   */
  target?: string;
  snapshot?: string;
  maxAgeDays?: number;
  /** As restore's `from`: "primary" (default), a copy's name, or "any". */
  from?: string;
  /** Slack-compatible webhook notified on failure (and on success with notifyOnSuccess). */
  webhookUrl?: string;
  notifyOnSuccess?: boolean;
}

export interface RestoreOptions {
  target?: string;
  source?: string;
  snapshot: string;
  force: boolean;
  dryRun: boolean;
  approvalTimeoutMinutes: number;
  maxAgeDays: number;
  from: string;
  webhookUrl?: string;
  notifyOnSuccess: boolean;
}

export const DEFAULT_MAX_AGE_DAYS = 8;
const DEFAULT_APPROVAL_TIMEOUT_MINUTES = 60;

const validSnapshot = (v: string) => v === 'latest' || /^[\w./-]+\.snap$/.test(v);
const SNAPSHOT_HINT = '"latest" or a snapshot key ending in .snap';

export function parseRestoreInput(raw: unknown): RestoreOptions {
  const p = new InputProblems('restore', inputObject('restore', raw, '{"target":"drill","snapshot":"latest"}'), [
    'target',
    'snapshot',
    'source',
    'force',
    'dryRun',
    'approvalTimeoutMinutes',
    'maxAgeDays',
    'from',
  ]);
  const target = p.cluster('target');
  if (p.fields.target === undefined) p.problems.push('"target" is required: the cluster to restore into, e.g. "drill"');
  if (target === EPHEMERAL_TARGET) {
    p.problems.push(
      `"target": "${EPHEMERAL_TARGET}" names a throwaway drill server: rehearse with verify {"cluster":"...","target":"${EPHEMERAL_TARGET}"}, ` +
        'or bring back single secrets with recover',
    );
  }
  const options: RestoreOptions = {
    ...(target ? { target } : {}),
    ...optional('source', p.cluster('source')),
    snapshot: p.string('snapshot', 'latest', validSnapshot, SNAPSHOT_HINT),
    force: p.boolean('force', false),
    dryRun: p.boolean('dryRun', false),
    approvalTimeoutMinutes: p.positiveNumber(
      'approvalTimeoutMinutes',
      DEFAULT_APPROVAL_TIMEOUT_MINUTES,
      'minutes > 0',
    )!,
    maxAgeDays: p.positiveNumber('maxAgeDays', DEFAULT_MAX_AGE_DAYS, 'a number of days > 0')!,
    from: p.string('from', PRIMARY_LOCATION, validFrom, FROM_HINT),
    notifyOnSuccess: false,
  };
  p.done();
  return options;
}

export function parseVerifyInput(raw: unknown): RestoreOptions {
  const p = new InputProblems('verify', inputObject('verify', raw, '{"cluster":"prod"}'), [
    'cluster',
    'target',
    'snapshot',
    'maxAgeDays',
    'from',
    'webhookUrl',
    'notifyOnSuccess',
  ]);
  const options: RestoreOptions = {
    ...optional('target', p.cluster('target')),
    ...optional('source', p.cluster('cluster')),
    snapshot: p.string('snapshot', 'latest', validSnapshot, SNAPSHOT_HINT),
    force: false,
    dryRun: false,
    approvalTimeoutMinutes: DEFAULT_APPROVAL_TIMEOUT_MINUTES,
    maxAgeDays: p.positiveNumber('maxAgeDays', DEFAULT_MAX_AGE_DAYS, 'a number of days > 0')!,
    from: p.string('from', PRIMARY_LOCATION, validFrom, FROM_HINT),
    ...optional(
      'webhookUrl',
      p.fields.webhookUrl === undefined ? undefined : p.string('webhookUrl', '', isHttpUrl, 'an http(s) URL'),
    ),
    notifyOnSuccess: p.boolean('notifyOnSuccess', false),
  };
  p.done();
  return options;
}

// The syntax only: which copies a cluster has is in the worker's config, and the plan checks it.
const validFrom = (v: string) => CLUSTER_NAME.test(v);

function isHttpUrl(v: string): boolean {
  return /^https?:\/\/[^\s/]+/.test(v);
}

/** `{ key: value }`, or nothing when the value is absent (inputs and reports leave defaults out). */
export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
