// The declarative schedule file (YAML or JSON, kept in Git and applied by `vsnap schedule
// apply`). Validation names the file, the line and the fix of every problem, before anything
// is applied.
import type { Duration } from '@temporalio/common';
import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { parseBackupInput } from '../../workflows/backup-input';
import { parseVerifyInput } from '../../workflows/restore-input';
import { cronProblem } from './cron';

export type ScheduleKind = 'backup' | 'verify';

export interface DesiredSchedule {
  id: string;
  kind: ScheduleKind;
  cluster: string;
  /** UTC cron expressions; empty when `every` sets the rhythm instead (a file gives one or the other). */
  cron: string[];
  /** A fixed interval (Temporal interval spec), e.g. "30m"; absent for cron schedules. */
  every?: Duration;
  /** Random delay added to each run, so many clusters do not snapshot at the same second. */
  jitter: Duration;
  /** How late a missed run (e.g. Temporal was down) may still start. */
  catchupWindow: Duration;
  pauseOnFailure: boolean;
  paused: boolean;
  note?: string;
  /** Extra workflow input (e.g. {"keep": 28} or {"maxAgeDays": 8}). */
  input: Record<string, unknown>;
}

export class ScheduleFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file} is invalid; nothing was applied:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ScheduleFileError';
  }
}

/** The cron-job procedure's rhythm: a backup every 6 hours, a restore drill weekly, in UTC. */
const DEFAULTS: Record<ScheduleKind, Pick<DesiredSchedule, 'cron' | 'jitter' | 'catchupWindow' | 'pauseOnFailure'>> = {
  backup: { cron: ['0 */6 * * *'], jitter: '5m', catchupWindow: '1h', pauseOnFailure: false },
  verify: { cron: ['0 3 * * 1'], jitter: '10m', catchupWindow: '6h', pauseOnFailure: true },
};

const ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const DURATION = /^\d+(ms|s|m|h|d)$/;
// Temporal rounds intervals to whole seconds, so `every` takes no milliseconds.
const INTERVAL = /^(\d+)(?:s|m|h|d)$/;
const FIELDS = [
  'id',
  'kind',
  'cluster',
  'cron',
  'every',
  'jitter',
  'catchupWindow',
  'pauseOnFailure',
  'paused',
  'note',
  'input',
];

export function parseScheduleFile(file: string, text: string, knownClusters?: string[]): DesiredSchedule[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const problems: string[] = [];
  const at = (node: Node | null | undefined) => {
    const offset = node?.range?.[0];
    return offset === undefined ? file : `${file}:${lines.linePos(offset).line}`;
  };
  for (const err of doc.errors)
    problems.push(`${file}:${err.linePos?.[0]?.line ?? '?'}: ${err.message.split('\n')[0]}`);
  if (problems.length > 0) throw new ScheduleFileError(file, problems);

  const list = doc.get('schedules', true) as Node | undefined;
  if (!isSeq(list)) throw new ScheduleFileError(file, [`${at(doc.contents)}: the file needs a "schedules:" list`]);

  const schedules: DesiredSchedule[] = [];
  const ids = new Set<string>();
  list.items.forEach((item, i) => {
    if (!isMap(item)) {
      problems.push(`${at(item as Node)}: schedules[${i}] must be a mapping with id, kind, cluster`);
      return;
    }
    const raw = item.toJSON() as Record<string, unknown>;
    const where = (field: string) => at(item.get(field, true) ?? item);
    for (const key of Object.keys(raw)) {
      if (!FIELDS.includes(key)) problems.push(`${where(key)}: unknown field "${key}"; allowed: ${FIELDS.join(', ')}`);
    }
    const id = raw.id;
    if (typeof id !== 'string' || !ID.test(id)) {
      problems.push(`${where('id')}: "id" must be lowercase letters, digits and dashes, got ${JSON.stringify(id)}`);
    } else if (ids.has(id)) {
      problems.push(`${where('id')}: id "${id}" appears twice`);
    } else ids.add(id);
    const kind = raw.kind;
    if (kind !== 'backup' && kind !== 'verify') {
      problems.push(`${where('kind')}: "kind" must be backup or verify, got ${JSON.stringify(kind)}`);
      return;
    }
    const cluster = raw.cluster;
    if (typeof cluster !== 'string' || !cluster) {
      problems.push(`${where('cluster')}: "cluster" is required (a cluster of the worker config)`);
    } else if (knownClusters && !knownClusters.includes(cluster)) {
      problems.push(`${where('cluster')}: unknown cluster "${cluster}"; the config has: ${knownClusters.join(', ')}`);
    }
    const defaults = DEFAULTS[kind];
    const every = raw.every === undefined ? undefined : intervalOrProblem(raw.every);
    if (typeof every === 'object') problems.push(`${where('every')}: ${every.problem}`);
    if (raw.every !== undefined && raw.cron !== undefined) {
      problems.push(`${where('every')}: give either "cron" or "every", not both; remove one of them`);
    }
    const givenCron = raw.cron === undefined ? defaults.cron : Array.isArray(raw.cron) ? raw.cron : [raw.cron];
    const cron = raw.every === undefined ? givenCron : [];
    for (const c of cron) {
      const problem = typeof c === 'string' ? cronProblem(c) : `cron must be a string, got ${JSON.stringify(c)}`;
      if (problem) problems.push(`${where('cron')}: invalid cron ${problem}`);
    }
    const duration = (field: 'jitter' | 'catchupWindow') => {
      const v = raw[field] ?? defaults[field];
      if (typeof v === 'string' && DURATION.test(v)) return v as Duration;
      problems.push(`${where(field)}: "${field}" must be a duration such as 5m or 1h, got ${JSON.stringify(v)}`);
      return defaults[field];
    };
    const bool = (field: 'pauseOnFailure' | 'paused', fallback: boolean) => {
      const v = raw[field];
      if (v === undefined) return fallback;
      if (typeof v === 'boolean') return v;
      problems.push(`${where(field)}: "${field}" must be true or false`);
      return fallback;
    };
    const input = raw.input ?? {};
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      problems.push(`${where('input')}: "input" must be a mapping of extra workflow input fields`);
    } else {
      // The same validation the workflow runs, so a bad input fails here, not at 3 a.m.
      try {
        (kind === 'backup' ? parseBackupInput : parseVerifyInput)({ cluster, ...input });
      } catch (err) {
        problems.push(`${where('input')}: ${(err as Error).message}`);
      }
    }
    schedules.push({
      id: String(id),
      kind,
      cluster: String(cluster),
      cron: cron as string[],
      ...(typeof every === 'string' ? { every } : {}),
      jitter: duration('jitter'),
      catchupWindow: duration('catchupWindow'),
      pauseOnFailure: bool('pauseOnFailure', defaults.pauseOnFailure),
      paused: bool('paused', false),
      ...(typeof raw.note === 'string' ? { note: raw.note } : {}),
      input: input as Record<string, unknown>,
    });
  });
  if (problems.length > 0) throw new ScheduleFileError(file, problems);
  return schedules;
}

/** The `every` of a schedule file, or the problem with it. */
function intervalOrProblem(value: unknown): Duration | { problem: string } {
  const m = typeof value === 'string' ? INTERVAL.exec(value) : null;
  if (!m) {
    return {
      problem: `"every" must be a duration like 30s, 5m or 1h (whole seconds, at least 1s), got ${JSON.stringify(value)}`,
    };
  }
  if (Number(m[1]) === 0) return { problem: `"every" must be at least 1s, got "${m[0]}"` };
  return value as Duration;
}

/** How a schedule's rhythm reads in `apply` and `list` output: the cron text or "every 30m". */
export function rhythmOf(d: Pick<DesiredSchedule, 'cron' | 'every'>): string {
  return d.every !== undefined ? `every ${d.every}` : d.cron.map((c) => `"${c}"`).join(', ');
}
