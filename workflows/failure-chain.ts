// What a failure says: vsnap puts the problem and its fix in an ApplicationFailure with a stable
// type. The first one in a cause chain is the most complete: a workflow wraps an activity's
// failure with what only it knows (whether the restore's target changed), keeping the type.
// Pure: used by the workflows (the drill's webhook text) and by the CLI.
import { ApplicationFailure } from '@temporalio/common';

export function firstApplicationFailure(err: unknown): ApplicationFailure | undefined {
  let current: unknown = err;
  while (current instanceof Error) {
    if (current instanceof ApplicationFailure) return current;
    current = (current as Error & { cause?: unknown }).cause;
  }
  return undefined;
}

/** The failure's message for people: the first ApplicationFailure's, else the innermost cause's. */
export function failureMessage(err: unknown): string {
  const app = firstApplicationFailure(err);
  if (app) return app.message;
  let current: unknown = err;
  let message = String(err);
  while (current instanceof Error) {
    message = current.message;
    current = (current as Error & { cause?: unknown }).cause;
  }
  return message;
}

/** One line that says why a run failed: `Type: message`, as the CLI prints it. */
export function describeFailure(err: unknown): string {
  const type = firstApplicationFailure(err)?.type;
  return type ? `${type}: ${failureMessage(err)}` : failureMessage(err);
}
