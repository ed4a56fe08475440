// Running workflows in tests and reading why they failed.
import assert from 'node:assert/strict';
import { WorkflowFailedError, type WorkflowHandle, type WorkflowStartOptions } from '@temporalio/client';
import { ApplicationFailure, type Workflow } from '@temporalio/common';
import type { TestWorker } from './stack';

export function uniqueId(kind: string): string {
  return `${kind}-test-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
}

export function start<T extends Workflow>(worker: TestWorker, workflowType: string, input: Parameters<T>[0]) {
  return worker.temporal.client.workflow.start<T>(workflowType, {
    taskQueue: worker.taskQueue,
    workflowId: uniqueId(workflowType),
    args: [input],
  } as unknown as WorkflowStartOptions<T>);
}

/** Awaits a run that must fail and returns its innermost ApplicationFailure. */
export async function failureOf(handle: WorkflowHandle): Promise<ApplicationFailure> {
  const err = await handle.result().then(
    () => assert.fail(`${handle.workflowId} should have failed`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError, `expected WorkflowFailedError, got ${String(err)}`);
  let cause: unknown = err.cause;
  while (cause instanceof Error && !(cause instanceof ApplicationFailure)) cause = cause.cause;
  assert.ok(cause instanceof ApplicationFailure, `expected an ApplicationFailure cause, got ${String(err.cause)}`);
  return cause;
}

/** Polls the `progress` query until `predicate` holds. */
export async function waitForProgress<P>(
  handle: WorkflowHandle,
  predicate: (p: P) => boolean,
  timeoutMs = 60_000,
): Promise<P> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const p = await handle.query<P>('progress').catch(() => undefined);
    if (p && predicate(p)) return p;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${handle.workflowId}: progress condition not reached within ${timeoutMs / 1000}s`);
}

/** The activity types a run scheduled, in order (the lock's own activities left out). */
export async function activityTypes(handle: WorkflowHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? [])
    .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
    .filter((name): name is string => name !== undefined && name !== null && !/ClusterLock/.test(name));
}

/** The highest attempt of each activity type in a run's history (1 = never retried). */
export async function activityAttempts(handle: WorkflowHandle): Promise<Record<string, number>> {
  const history = await handle.fetchHistory();
  const typeOf = new Map<string, string>();
  const attempts: Record<string, number> = {};
  for (const event of history.events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) typeOf.set(String(event.eventId), scheduled.activityType?.name ?? '?');
    const started = event.activityTaskStartedEventAttributes;
    if (started) {
      const type = typeOf.get(String(started.scheduledEventId)) ?? '?';
      attempts[type] = Math.max(attempts[type] ?? 0, started.attempt ?? 1);
    }
  }
  return attempts;
}

/**
 * A fixture several tests share, made by whichever of them runs first: each test can then run
 * alone (--test-name-pattern) without relying on another having run before it.
 */
export function sharedFixture<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => (made ??= make());
}
