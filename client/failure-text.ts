// One line that says why a run failed: the innermost cause's type and message, which is where
// vsnap puts the problem and its fix.
import { ApplicationFailure, TemporalFailure } from '@temporalio/common';

export function describeFailure(err: unknown): string {
  let current: unknown = err;
  let deepest: Error | undefined;
  while (current instanceof Error) {
    deepest = current;
    current = (current as TemporalFailure).cause;
  }
  if (!deepest) return String(err);
  if (deepest instanceof ApplicationFailure && deepest.type) return `${deepest.type}: ${deepest.message}`;
  return deepest.message;
}
