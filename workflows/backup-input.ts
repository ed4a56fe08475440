// The backup workflow's input: one JSON object, every field optional, validated once here and
// shared by the workflow, the CLI and the docs. Pure (runs inside the workflow sandbox).
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from './names';

export interface BackupInput {
  /** Name of a configured Vault cluster. Default: the worker config's first cluster. */
  cluster?: string;
  /** Keep at most this many snapshots of the cluster (newest first). Default: the cluster's retention. */
  keep?: number;
  /** Delete snapshots older than this many days. Default: the cluster's retention. */
  maxAgeDays?: number;
}

const KNOWN_FIELDS = new Set(['cluster', 'keep', 'maxAgeDays']);
const CLUSTER_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Validates a backup input, listing every problem at once, each naming the field and the fix. */
export function parseBackupInput(raw: unknown): BackupInput {
  const input = raw ?? {};
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw invalid(['the input must be a JSON object such as {"cluster":"prod"}']);
  }
  const fields = input as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(fields)) {
    if (!KNOWN_FIELDS.has(key)) problems.push(`unknown field "${key}"; allowed: ${[...KNOWN_FIELDS].join(', ')}`);
  }
  const { cluster, keep, maxAgeDays } = fields;
  if (cluster !== undefined && (typeof cluster !== 'string' || !CLUSTER_NAME.test(cluster))) {
    problems.push(
      `"cluster" must be a cluster name (lowercase letters, digits, dashes), got ${JSON.stringify(cluster)}`,
    );
  }
  if (keep !== undefined && !(Number.isInteger(keep) && (keep as number) >= 1)) {
    problems.push(`"keep" must be an integer >= 1 (the newest snapshot is always kept), got ${JSON.stringify(keep)}`);
  }
  if (maxAgeDays !== undefined && !(typeof maxAgeDays === 'number' && maxAgeDays > 0)) {
    problems.push(`"maxAgeDays" must be a number of days > 0, got ${JSON.stringify(maxAgeDays)}`);
  }
  if (problems.length > 0) throw invalid(problems);
  return {
    ...(cluster !== undefined ? { cluster: cluster as string } : {}),
    ...(keep !== undefined ? { keep: keep as number } : {}),
    ...(maxAgeDays !== undefined ? { maxAgeDays: maxAgeDays as number } : {}),
  };
}

function invalid(problems: string[]): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.InvalidInput,
    message: `invalid backup input: ${problems.join('; ')}`,
    nonRetryable: true,
  });
}
