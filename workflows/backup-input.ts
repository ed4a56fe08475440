// The backup workflow's input: one JSON object, every field optional, validated once here and
// shared by the workflow, the CLI and the docs. Pure (runs inside the workflow sandbox).
import { InputProblems, inputObject } from './input-validation';

export interface BackupInput {
  /** Name of a configured Vault cluster. Default: the worker config's first cluster. */
  cluster?: string;
  /** Keep at most this many snapshots of the cluster (newest first). Default: the cluster's retention. */
  keep?: number;
  /** Delete snapshots older than this many days. Default: the cluster's retention. */
  maxAgeDays?: number;
}

/** Validates a backup input, listing every problem at once, each naming the field and the fix. */
export function parseBackupInput(raw: unknown): BackupInput {
  const p = new InputProblems('backup', inputObject('backup', raw, '{"cluster":"prod"}'), [
    'cluster',
    'keep',
    'maxAgeDays',
  ]);
  const cluster = p.cluster('cluster');
  const keep = p.fields.keep;
  if (keep !== undefined && !(Number.isInteger(keep) && (keep as number) >= 1)) {
    p.problems.push(`"keep" must be an integer >= 1 (the newest snapshot is always kept), got ${JSON.stringify(keep)}`);
  }
  const maxAgeDays = p.positiveNumber('maxAgeDays', undefined, 'a number of days > 0');
  p.done();
  return {
    ...(cluster !== undefined ? { cluster } : {}),
    ...(keep !== undefined ? { keep: keep as number } : {}),
    ...(maxAgeDays !== undefined ? { maxAgeDays } : {}),
  };
}
