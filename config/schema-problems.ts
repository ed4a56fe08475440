// Someone who writes a config or schedules file should read, for each mistake, the field and the
// fix: `clusters[1]: auth.method must be one of approle, kubernetes, token, got "ldap"`. The
// schemas in this folder say what is valid; this module turns zod's issues into such problems.
import { z } from 'zod';

/** One problem: the path to the field, from the input's root, and a sentence that follows the field's name. */
export interface FieldProblem {
  path: PropertyKey[];
  text: string;
}

export type ParsedFields<T> = { success: true; data: T } | { success: false; problems: FieldProblem[] };

/** Validates `input` against `schema`, listing every problem at once rather than stopping at the first. */
export function parseFields<S extends z.ZodType>(schema: S, input: unknown): ParsedFields<z.output<S>> {
  const result = schema.safeParse(input, { error: fixFor, reportInput: true });
  if (result.success) return { success: true, data: result.data };
  return { success: false, problems: result.error.issues.flatMap(problemsOf) };
}

/**
 * An object as far as it is valid: the fields of `written` that pass their own schema. Checks
 * that run after the schema read these, so that they report beside its problems, in the same
 * pass, and never read a value it refused.
 */
export function validFields<S extends z.ZodObject>(schema: S, written: unknown): Partial<z.output<S>> {
  const fields = typeof written === 'object' && written !== null ? (written as Record<string, unknown>) : {};
  const valid: Record<string, unknown> = {};
  for (const [field, fieldSchema] of Object.entries(schema.shape)) {
    const result = (fieldSchema as z.ZodType).safeParse(fields[field]);
    if (fields[field] !== undefined && result.success) valid[field] = result.data;
  }
  return valid as Partial<z.output<S>>;
}

/** A string that must be given and not be empty; `hint` says what it is, in the problem when it is not. */
export function requiredText(hint: string) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? `is required (${hint})` : `must be a string (${hint})`) })
    .min(1, { error: `must not be empty (${hint})`, abort: true });
}

/**
 * The problem with a union's value, naming the forms it takes: when it is not an object at all
 * (`invalidType`), and when its discriminator matches no form (`unknownDiscriminator`; without
 * it, the discriminator's values are listed).
 */
export function unionError(forms: { invalidType: string; unknownDiscriminator?: string }): z.core.$ZodErrorMap {
  return (issue) => {
    if (issue.code === 'invalid_type') {
      return issue.input === undefined ? `is required: ${forms.invalidType}` : `must be ${forms.invalidType}`;
    }
    return issue.code === 'invalid_union' && forms.unknownDiscriminator
      ? `must be ${forms.unknownDiscriminator}`
      : undefined;
  };
}

/** A value as a problem quotes it: JSON, cut short when long. */
export function describeValue(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  record: 'an object',
  array: 'a list',
};

/**
 * zod's own messages ("Invalid input: expected string, received undefined") recast as what to
 * do; a schema overrides them where a hint helps (see its `error` options).
 */
function fixFor(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'is required' : `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    case 'too_small':
      if (issue.origin === 'number') return `must be ${issue.inclusive ? '>=' : '>'} ${issue.minimum}`;
      return Number(issue.minimum) === 1 ? 'must not be empty' : `must have at least ${issue.minimum} items`;
    case 'too_big':
      if (issue.origin === 'number') return `must be ${issue.inclusive ? '<=' : '<'} ${issue.maximum}`;
      return `must have at most ${issue.maximum} items`;
    case 'invalid_value':
      return `must be ${issue.values.length === 1 ? describeValue(issue.values[0]) : `one of ${issue.values.join(', ')}`}`;
    case 'invalid_union':
      if (!issue.discriminator || !Array.isArray(issue.options)) return 'matches none of the forms allowed here';
      return `${fieldOf(issue.input, issue.discriminator) === undefined ? 'is required: ' : 'must be '}one of ${issue.options.join(', ')}`;
    case 'unrecognized_keys':
      return `is not a known field; allowed here: ${allowedKeys(issue.inst).join(', ')}`;
    case 'invalid_format':
      return issue.format === 'regex' ? `must match ${issue.pattern}` : `must be a valid ${issue.format}`;
    default:
      return undefined;
  }
}

/** One problem per issue, with the value that was given; an unknown field is named in the path. */
function problemsOf(issue: z.core.$ZodIssue): FieldProblem[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: [...issue.path, key], text: issue.message }));
  }
  // A discriminated union reports the whole object; what was wrong is its discriminator's value.
  const given =
    issue.code === 'invalid_union' && issue.discriminator ? fieldOf(issue.input, issue.discriminator) : issue.input;
  return [
    { path: issue.path, text: given === undefined ? issue.message : `${issue.message}, got ${describeValue(given)}` },
  ];
}

function fieldOf(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function allowedKeys(schema: unknown): string[] {
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}
