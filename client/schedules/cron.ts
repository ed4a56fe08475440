// Checks the cron strings of a schedule file before anything is applied, so an operator gets
// "line 7: minute field 61 is out of range 0-59" instead of a server error halfway through.
// It accepts what the Temporal server accepts, no more and no less: the server's parser
// (parseCronString in the scheduler's spec.go) read alongside answers from a real server, which
// test/unit/cron.test.ts lists. In short:
//   - an optional `CRON_TZ=<zone> ` or `TZ=<zone> ` prefix (the zone ends at the first space;
//     empty means UTC) and an optional `# comment` (200 bytes at most);
//   - 5 fields (minute hour day-of-month month day-of-week), 6 (the same, then a YEAR: the 6th
//     field is not seconds) or 7 (second, the five, year);
//   - @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly (lowercase only);
//   - `@every <duration>[/<offset>]`, a fixed interval (Go durations, plus d for days), at least
//     1s, the offset below the interval; a zone prefix is ignored there.

// prettier-ignore
const MONTHS = [
  'january', 'february', 'march', 'april', 'may', 'june',
  'july', 'august', 'september', 'october', 'november', 'december',
];
const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

const SHORTHANDS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

interface Field {
  name: string;
  min: number;
  max: number;
  /** Names the field also takes, at least `shortest` letters of them (Temporal: "mon", "tu", "janu"). */
  names?: { all: string[]; shortest: number; first: number };
}

const SECOND: Field = { name: 'second', min: 0, max: 59 };
const MINUTE: Field = { name: 'minute', min: 0, max: 59 };
const HOUR: Field = { name: 'hour', min: 0, max: 23 };
const DAY_OF_MONTH: Field = { name: 'day-of-month', min: 1, max: 31 };
const MONTH: Field = { name: 'month', min: 1, max: 12, names: { all: MONTHS, shortest: 3, first: 1 } };
// 7 is Sunday too.
const DAY_OF_WEEK: Field = { name: 'day-of-week', min: 0, max: 7, names: { all: DAYS, shortest: 2, first: 0 } };
const YEAR: Field = { name: 'year', min: 2000, max: 2100 };

const LAYOUTS: Record<number, Field[]> = {
  5: [MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK],
  6: [MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK, YEAR],
  7: [SECOND, MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK, YEAR],
};

const MAX_COMMENT_BYTES = 200;

const SIX_FIELDS_HINT = '; of 6 fields Temporal reads the last as the year (seconds go first, in 7 fields)';

/** Returns a problem description, or undefined when Temporal would accept the expression. */
export function cronProblem(expression: string): string | undefined {
  return readCron(expression).problem;
}

/**
 * A schedule has one time zone, so Temporal refuses a list whose expressions name different
 * ones (as written: "UTC" and no prefix differ; an @every names none).
 */
export function cronListProblem(expressions: string[]): string | undefined {
  const zones = [...new Set(expressions.map((e) => readCron(e).zone))];
  if (zones.length < 2) return undefined;
  const named = zones.map((zone) => (zone === '' ? 'none' : zone)).join(', ');
  return `the expressions name different time zones (${named}); a schedule has one: give each the same CRON_TZ= prefix`;
}

/** The expression's time zone prefix, as written ("" for none), and its problem, if any. */
function readCron(expression: string): { zone: string; problem?: string } {
  let text = expression.trim();
  let zone = '';
  if (text.startsWith('TZ=') || text.startsWith('CRON_TZ=')) {
    const space = text.indexOf(' ');
    if (space < 0) {
      return {
        zone,
        problem: `"${expression}" has a time zone but no schedule after it, e.g. CRON_TZ=Europe/Paris 0 3 * * *`,
      };
    }
    zone = text.slice(text.indexOf('=') + 1, space);
    text = text.slice(space + 1);
  }
  const hash = text.indexOf('#');
  const comment = hash < 0 ? '' : text.slice(hash + 1).trim();
  text = (hash < 0 ? text : text.slice(0, hash)).trim();
  const problem = (detail: string | undefined) => (detail ? { problem: `"${expression}": ${detail}` } : {});
  // Temporal drops the zone of an interval.
  if (text.startsWith('@every')) return { zone: '', ...problem(intervalProblem(text)) };
  const fields = (SHORTHANDS[text] ?? text).split(/\s+/).filter(Boolean);
  const layout = LAYOUTS[fields.length];
  if (!layout) {
    return {
      zone,
      problem:
        `"${expression}" has ${fields.length} fields; cron needs 5 (minute hour day-of-month month day-of-week), ` +
        '6 (the same, then a year) or 7 (second, the five, year), in UTC unless prefixed with CRON_TZ=<zone>',
    };
  }
  for (let i = 0; i < fields.length; i++) {
    const fieldIssue = fieldProblem(fields[i], layout[i]);
    // The Quartz habit: six fields with seconds first.
    const yearHint = fields.length === 6 && layout[i] === YEAR ? SIX_FIELDS_HINT : '';
    if (fieldIssue) return { zone, ...problem(fieldIssue + yearHint) };
  }
  const bytes = Buffer.byteLength(comment);
  if (bytes > MAX_COMMENT_BYTES) {
    return { zone, ...problem(`the comment is ${bytes} bytes; Temporal takes at most ${MAX_COMMENT_BYTES}`) };
  }
  return { zone, ...problem(zoneProblem(zone)) };
}

function fieldProblem(text: string, field: Field): string | undefined {
  for (const item of text.split(',')) {
    const [range, step, extra] = item.split('/');
    if (extra !== undefined) return `${field.name} field "${text}" has more than one "/"`;
    if (step !== undefined && !((goInt(step) ?? 0) >= 1)) {
      return `${field.name} field "${text}" has step "${step}"; a step is a whole number > 0`;
    }
    if (range === '*') continue;
    const bounds = range.split('-');
    if (bounds.length > 2) return `${field.name} field "${text}" has more than one "-"`;
    // A single value with a step runs to the field's end (5/15 is 5, 20, 35, 50): only the value is checked.
    const values: number[] = [];
    for (const bound of bounds) {
      if (bound === '') return `${field.name} field "${text}" is malformed`;
      const value = valueOf(bound, field);
      if (value === undefined) return `${field.name} field "${text}" has "${bound}", which is not a ${field.name}`;
      if (value < field.min || value > field.max) {
        return `${field.name} field ${value} is out of range ${field.min}-${field.max}`;
      }
      values.push(value);
    }
    if (values.length === 2 && values[0] > values[1]) return `${field.name} range "${range}" runs backwards`;
  }
  return undefined;
}

/** A number, or a name: at least `shortest` letters of one, in any case. */
function valueOf(token: string, field: Field): number | undefined {
  const names = field.names;
  if (names && token.length >= names.shortest) {
    const index = names.all.findIndex((name) => name.startsWith(token.toLowerCase()));
    if (index >= 0) return index + names.first;
  }
  return goInt(token);
}

/** An integer as Go's strconv.Atoi reads it: an optional sign, decimal digits, within 64 bits. */
function goInt(text: string): number | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const value = BigInt(text);
  return value > 2n ** 63n - 1n || value < -(2n ** 63n) ? undefined : Number(value);
}

/** `@every <interval>[/<offset>]`: Temporal's own interval, rather than a calendar. */
function intervalProblem(text: string): string | undefined {
  const space = text.indexOf(' ');
  if (space < 0) return '@every needs an interval, e.g. @every 1h';
  const [interval, offset = ''] = splitOnce(text.slice(space + 1), '/');
  const every = goDurationMs(interval);
  if (every === undefined) return `"${interval}" is not a duration such as 90s, 1h30m or 2d`;
  if (every < 1000) return `the interval "${interval}" is shorter than 1s`;
  if (offset === '') return undefined;
  const phase = goDurationMs(offset);
  if (phase === undefined) return `"${offset}" is not a duration such as 90s, 1h30m or 2d`;
  if (phase < 0) return `the offset "${offset}" is negative`;
  return phase >= every ? `the offset "${offset}" must be shorter than the interval "${interval}"` : undefined;
}

function splitOnce(text: string, separator: string): [string, string?] {
  const at = text.indexOf(separator);
  return at < 0 ? [text] : [text.slice(0, at), text.slice(at + separator.length)];
}

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * Milliseconds of a duration as Temporal parses it: Go's time.ParseDuration ("1h30m", ".5h",
 * "+90s") plus d for days; undefined when Go would refuse it (no unit, an unknown one, a space,
 * over 292 years).
 */
function goDurationMs(text: string): number | undefined {
  const sign = text.startsWith('-') ? -1 : 1;
  const body = /^[+-]/.test(text) ? text.slice(1) : text;
  if (body === '0') return 0;
  const parts = [...body.matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== body) return undefined;
  const ms = parts.reduce((total, [, amount, unit]) => total + Number(amount) * DURATION_UNITS_MS[unit], 0);
  // A Go duration is a signed 64-bit count of nanoseconds.
  return ms * 1e6 > 2 ** 63 - 1 ? undefined : sign * ms;
}

/**
 * Temporal loads the zone with Go's time.LoadLocation: "" and "UTC" are UTC, "Local" is the
 * server's own zone, and any other name must be in the time zone database as spelled, case
 * included (europe/paris is refused). This machine's database (Intl) stands in for the server's.
 */
function zoneProblem(zone: string): string | undefined {
  if (zone === '' || zone === 'UTC' || zone === 'Local') return undefined;
  let known: string | undefined;
  try {
    known = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    known = undefined;
  }
  // Every IANA name's parts start with a capital (America/Port-au-Prince, Etc/GMT+5); Intl would
  // also take "utc", "europe/paris" and "+01:00", which Go refuses.
  const spelledAsIana = zone.split('/').every((part) => /^[A-Z]/.test(part));
  if (known && spelledAsIana && (known === zone || known.toLowerCase() !== zone.toLowerCase())) return undefined;
  const hint = known && known.toLowerCase() === zone.toLowerCase() ? `; names are case-sensitive: ${known}` : '';
  return `time zone "${zone}" is not an IANA time zone (e.g. CRON_TZ=Europe/Paris)${hint}`;
}
