// Validates the cron strings of a schedule file before anything is applied, so an operator
// gets "line 7: minute field 61 is out of range 0-59" instead of a server error halfway.
// Temporal accepts standard 5-field cron and the @hourly/@daily/@weekly/@monthly shorthands,
// with an optional time zone prefix (`CRON_TZ=Europe/Paris 0 3 * * *`, or `TZ=`) and a comment
// after `#`; the zone must be one this machine's time zone database knows.

const SHORTHANDS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface Field {
  name: string;
  min: number;
  max: number;
  names?: string[];
  /** Value of the first name (JAN = 1, SUN = 0). */
  nameBase?: number;
}

const FIELDS: Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, nameBase: 1 },
  { name: 'day-of-week', min: 0, max: 7, names: DAYS, nameBase: 0 },
];

/** Returns a problem description, or undefined when the expression is valid. */
export function cronProblem(expression: string): string | undefined {
  const withoutComment = expression.split('#')[0];
  const zoned = /^\s*(?:CRON_TZ|TZ)=(\S*)\s+(.*)$/.exec(withoutComment);
  if (zoned && !isTimeZone(zoned[1])) {
    return `"${expression}": time zone "${zoned[1]}" is not an IANA time zone (e.g. CRON_TZ=Europe/Paris)`;
  }
  const trimmed = (zoned ? zoned[2] : withoutComment).trim();
  if (SHORTHANDS.has(trimmed)) return undefined;
  const parts = trimmed.split(/\s+/);
  if (parts.length !== 5) {
    return `"${expression}" has ${parts.length} fields; cron needs 5 (minute hour day-of-month month day-of-week), in UTC unless prefixed with CRON_TZ=<zone>`;
  }
  for (let i = 0; i < 5; i++) {
    const problem = fieldProblem(parts[i], FIELDS[i]);
    if (problem) return `"${expression}": ${problem}`;
  }
  return undefined;
}

function fieldProblem(text: string, field: Field): string | undefined {
  for (const item of text.split(',')) {
    const [range, step, extra] = item.split('/');
    if (extra !== undefined || range === undefined || range === '') return `${field.name} field "${text}" is malformed`;
    if (step !== undefined && !(/^\d+$/.test(step) && Number(step) > 0)) {
      return `${field.name} field "${text}" has step "${step}"; a step is a whole number > 0`;
    }
    if (range === '*') continue;
    const bounds = range.split('-');
    if (bounds.length > 2) return `${field.name} field "${text}" is malformed`;
    const values: number[] = [];
    for (const b of bounds) {
      const value = valueOf(b, field);
      if (value === undefined) return `${field.name} field "${text}" has "${b}", which is not a ${field.name}`;
      if (value < field.min || value > field.max) {
        return `${field.name} field ${value} is out of range ${field.min}-${field.max}`;
      }
      values.push(value);
    }
    if (values.length === 2 && values[0] > values[1]) return `${field.name} range "${range}" runs backwards`;
  }
  return undefined;
}

function valueOf(token: string, field: Field): number | undefined {
  if (/^\d+$/.test(token)) return Number(token);
  const index = field.names?.indexOf(token.toUpperCase()) ?? -1;
  return index >= 0 ? index + (field.nameBase ?? 0) : undefined;
}

function isTimeZone(zone: string): boolean {
  if (!zone) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
