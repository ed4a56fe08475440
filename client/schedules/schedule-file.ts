// The declarative schedule file (YAML or JSON, kept in Git and applied by `vsnap schedule
// apply`). Its schema (config/schedules-schema.ts) checks each field; then come the checks a
// schema cannot make. Every problem names the file, the line and the fix, before anything is
// applied.
import type { Duration } from '@temporalio/common';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import {
  DEFAULT_CRON,
  type ScheduleEntry,
  ScheduleFieldsSchema,
  SchedulesFileSchema,
} from '../../config/schedules-schema';
import { parseFields, validFields } from '../../config/schema-problems';
import { parseBackupInput } from '../../workflows/backup-input';
import { parseVerifyInput } from '../../workflows/restore-input';
import { cronListProblem, cronProblem } from './cron';

/**
 * A schedule as the file asks for it, defaults filled in. `cron` holds the cron expressions,
 * empty when `every` (a fixed interval) sets the rhythm instead. Its JSON is the schedule's
 * content hash (apply-schedules.ts): the fields keep this order, and absent ones stay absent.
 */
export type DesiredSchedule = Omit<ScheduleEntry, 'cron' | 'every' | 'jitter' | 'catchupWindow'> & {
  cron: string[];
  every?: Duration;
  jitter: Duration;
  catchupWindow: Duration;
};

export class ScheduleFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file} is invalid; nothing was applied:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ScheduleFileError';
  }
}

interface Problem {
  line: number;
  text: string;
}

export function parseScheduleFile(file: string, text: string, knownClusters?: string[]): DesiredSchedule[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((err) => `${file}:${err.linePos?.[0]?.line ?? '?'}: ${err.message.split('\n')[0]}`);
    throw new ScheduleFileError(file, problems);
  }
  const lineOf = (path: PropertyKey[]) => nearestLine(doc, lines, path);
  const json: unknown = doc.toJS();
  const parsed = parseFields(SchedulesFileSchema, json);
  const problems: Problem[] = parsed.success
    ? []
    : parsed.problems.map((p) => ({ line: lineOf(p.path), text: `${fieldName(p.path)} ${p.text}` }));
  problems.push(...scheduleProblems(json, lineOf, knownClusters));
  if (!parsed.success || problems.length > 0) {
    // In the file's order, so that an operator fixes it top to bottom.
    const sorted = problems.sort((a, b) => a.line - b.line);
    throw new ScheduleFileError(
      file,
      sorted.map((p) => `${p.line > 0 ? `${file}:${p.line}` : file}: ${p.text}`),
    );
  }
  return parsed.data.schedules.map(desiredSchedule);
}

/** How a problem names a field: `"every"` in a schedule, `schedules[2]` for a schedule itself, or the file. */
function fieldName(path: PropertyKey[]): string {
  const [top, index, ...rest] = path;
  if (top === 'schedules' && typeof index === 'number') {
    return rest.length > 0 ? `"${rest.join('.')}"` : `schedules[${index}]`;
  }
  return path.length === 0 || (path.length === 1 && top === 'schedules') ? 'the file' : `"${path.join('.')}"`;
}

/** The line of the field at `path`, or of the nearest enclosing one that is there; 0 for none. */
function nearestLine(doc: Document, lines: LineCounter, path: PropertyKey[]): number {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return 0;
}

/**
 * What a schema cannot say: ids are unique, clusters are in the worker config, cron or every
 * but not both, each cron expression as Temporal parses it, and each input by its workflow's
 * validator. These read the schedules' valid fields, so they run beside the schema's problems.
 */
function scheduleProblems(
  json: unknown,
  lineOf: (path: PropertyKey[]) => number,
  knownClusters: string[] | undefined,
): Problem[] {
  const list = (json as { schedules?: unknown } | null)?.schedules;
  if (!Array.isArray(list)) return [];
  const written = list as unknown[];
  const problems: Problem[] = [];
  const ids = new Set<string>();
  written.forEach((schedule, i) => {
    const at = (field: string) => ['schedules', i, field];
    const given = (typeof schedule === 'object' && schedule !== null ? schedule : {}) as Record<string, unknown>;
    const { id, kind, cluster, cron, input } = validFields(ScheduleFieldsSchema, schedule);
    if (id !== undefined && ids.has(id)) problems.push({ line: lineOf(at('id')), text: `id "${id}" appears twice` });
    if (id !== undefined) ids.add(id);
    if (cluster !== undefined && knownClusters && !knownClusters.includes(cluster)) {
      problems.push({
        line: lineOf(at('cluster')),
        text: `unknown cluster "${cluster}"; the config has: ${knownClusters.join(', ')}`,
      });
    }
    if (given.every !== undefined && given.cron !== undefined) {
      problems.push({ line: lineOf(at('every')), text: 'give either "cron" or "every", not both; remove one of them' });
    }
    if (given.every === undefined && cron !== undefined) {
      const expressions = [cron].flat();
      expressions.forEach((expression, j) => {
        const problem = cronProblem(expression);
        const path = Array.isArray(cron) ? [...at('cron'), j] : at('cron');
        if (problem) problems.push({ line: lineOf(path), text: `invalid cron ${problem}` });
      });
      const listProblem = cronListProblem(expressions);
      if (listProblem) problems.push({ line: lineOf(at('cron')), text: `invalid cron: ${listProblem}` });
    }
    if (kind !== undefined && input !== undefined) {
      // The same validation the workflow runs, so a bad input fails here, not at 3 a.m.
      try {
        (kind === 'backup' ? parseBackupInput : parseVerifyInput)({ cluster, ...input });
      } catch (err) {
        problems.push({ line: lineOf(at('input')), text: (err as Error).message });
      }
    }
  });
  return problems;
}

function desiredSchedule(entry: ScheduleEntry): DesiredSchedule {
  const cron = entry.every !== undefined ? [] : entry.cron === undefined ? [DEFAULT_CRON[entry.kind]] : [entry.cron];
  // The schema's patterns are Temporal's duration format, which the Duration type spells out.
  return {
    id: entry.id,
    kind: entry.kind,
    cluster: entry.cluster,
    cron: cron.flat(),
    ...(entry.every !== undefined ? { every: entry.every as Duration } : {}),
    jitter: entry.jitter as Duration,
    catchupWindow: entry.catchupWindow as Duration,
    pauseOnFailure: entry.pauseOnFailure,
    paused: entry.paused,
    ...(entry.note !== undefined ? { note: entry.note } : {}),
    input: entry.input,
  };
}

/** How a schedule's rhythm reads in `apply` and `list` output: the cron text or "every 30m". */
export function rhythmOf(d: Pick<DesiredSchedule, 'cron' | 'every'>): string {
  return d.every !== undefined ? `every ${d.every}` : d.cron.map((c) => `"${c}"`).join(', ');
}
