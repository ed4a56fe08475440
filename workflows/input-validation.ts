// Shared validation for workflow inputs: collect every problem, each naming the field and the
// fix, then fail once with a non-retryable InvalidInput. Pure (runs in the workflow sandbox).
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from './names';

export const CLUSTER_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export class InputProblems {
  readonly problems: string[] = [];

  constructor(
    private readonly workflow: string,
    readonly fields: Record<string, unknown>,
    allowed: string[],
  ) {
    for (const key of Object.keys(fields)) {
      if (!allowed.includes(key)) this.problems.push(`unknown field "${key}"; allowed: ${allowed.join(', ')}`);
    }
  }

  cluster(field: string): string | undefined {
    const v = this.fields[field];
    if (v === undefined) return undefined;
    if (typeof v === 'string' && CLUSTER_NAME.test(v)) return v;
    this.problems.push(
      `"${field}" must be a cluster name (lowercase letters, digits, dashes), got ${JSON.stringify(v)}`,
    );
    return undefined;
  }

  boolean(field: string, fallback: boolean): boolean {
    const v = this.fields[field];
    if (v === undefined) return fallback;
    if (typeof v === 'boolean') return v;
    this.problems.push(`"${field}" must be true or false, got ${JSON.stringify(v)}`);
    return fallback;
  }

  positiveNumber(field: string, fallback: number | undefined, hint: string): number | undefined {
    const v = this.fields[field];
    if (v === undefined) return fallback;
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v;
    this.problems.push(`"${field}" must be ${hint}, got ${JSON.stringify(v)}`);
    return fallback;
  }

  string(field: string, fallback: string, check: (v: string) => boolean, hint: string): string {
    const v = this.fields[field];
    if (v === undefined) return fallback;
    if (typeof v === 'string' && check(v)) return v;
    this.problems.push(`"${field}" must be ${hint}, got ${JSON.stringify(v)}`);
    return fallback;
  }

  /** Throws the collected problems, if any. */
  done(): void {
    if (this.problems.length === 0) return;
    throw ApplicationFailure.create({
      type: FailureType.InvalidInput,
      message: `invalid ${this.workflow} input: ${this.problems.join('; ')}`,
      nonRetryable: true,
    });
  }
}

/** The input must be a JSON object (or absent); anything else fails at once. */
export function inputObject(workflow: string, raw: unknown, example: string): Record<string, unknown> {
  const input = raw ?? {};
  if (typeof input === 'object' && !Array.isArray(input)) return input as Record<string, unknown>;
  throw ApplicationFailure.create({
    type: FailureType.InvalidInput,
    message: `invalid ${workflow} input: it must be a JSON object such as ${example}`,
    nonRetryable: true,
  });
}
