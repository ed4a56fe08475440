// Starting a vsnap workflow from the CLI and, with --wait, waiting for its result: shared by
// backup, restore and verify so they connect, name runs and report failures the same way.
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { type RunKind, runSearchAttributes } from '../workflows/search-attributes';
import { connectTemporal, type VsnapClient } from './connection';
import { ExitCode, printJson } from './cli';
import { describeFailure } from '../workflows/failure-chain';
import { followRun, ProgressView } from './progress';
import { CodecError } from './remote-codec';

/** The flags of CONNECTION_OPTIONS (client/cli.ts), as parseArgs returns them. */
export interface ConnectionFlags {
  address?: string | undefined;
  namespace?: string | undefined;
  'task-queue'?: string | undefined;
  profile?: string | undefined;
  'codec-endpoint'?: string | undefined;
  'codec-auth'?: string | undefined;
}

export function connectWith(flags: ConnectionFlags): Promise<VsnapClient> {
  return connectTemporal({
    ...(flags.address ? { address: flags.address } : {}),
    ...(flags.namespace ? { namespace: flags.namespace } : {}),
    ...(flags['task-queue'] ? { taskQueue: flags['task-queue'] } : {}),
    ...(flags.profile ? { profile: flags.profile } : {}),
    codec: {
      ...(flags['codec-endpoint'] ? { endpoint: flags['codec-endpoint'] } : {}),
      ...(flags['codec-auth'] ? { authorization: flags['codec-auth'] } : {}),
    },
  });
}

export function defaultWorkflowId(kind: string, subject: string | undefined): string {
  return `${kind}-${subject ?? 'default'}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
}

export interface RunOptions<R> {
  kind: RunKind;
  /** The cluster the run is about (the target for a restore), for the UI's filters. */
  cluster?: string | undefined;
  workflowType: string;
  input: unknown;
  workflowId: string;
  wait: boolean;
  json: boolean;
  flags: ConnectionFlags;
  /** While waiting: the run's progress on stderr (off with --no-progress). */
  progress?: boolean;
  printResult(result: R): void;
  /** Called once the run started, while waiting (e.g. to send an approval). */
  afterStart?(client: VsnapClient, workflowId: string): Promise<void>;
}

export async function runWorkflow<R>(o: RunOptions<R>): Promise<number> {
  const temporal = await connectWith(o.flags);
  try {
    const handle = await temporal.client.workflow.start(o.workflowType, {
      taskQueue: temporal.taskQueue,
      workflowId: o.workflowId,
      args: [o.input],
      typedSearchAttributes: runSearchAttributes(o.kind, o.cluster),
    });
    if (!o.wait) {
      if (o.json) printJson({ workflowId: o.workflowId, runId: handle.firstExecutionRunId });
      else console.log(`started ${o.kind} ${o.workflowId} (run ${handle.firstExecutionRunId})`);
      return ExitCode.ok;
    }
    if (!o.json) console.error(`${o.kind} ${o.workflowId} started; waiting for it to finish...`);
    try {
      const result = await waitWithProgress<R>(temporal, handle, o);
      if (o.json) printJson({ workflowId: o.workflowId, status: 'completed', result });
      else o.printResult(result);
      return ExitCode.ok;
    } catch (err) {
      if (!(err instanceof WorkflowFailedError)) throw err;
      const text = err.cause instanceof CancelledFailure ? await cancelledText(handle) : describeFailure(err);
      if (o.json) printJson({ workflowId: o.workflowId, status: 'failed', error: text });
      else console.error(`${o.kind} ${o.workflowId} failed: ${text}`);
      return ExitCode.runFailed;
    }
  } finally {
    await temporal.close();
  }
}

/** Every 5 s off a terminal while only bytes move: a CI log shows it is alive without filling up. */
const PLAIN_PROGRESS_INTERVAL_MS = 5000;

/**
 * The run's result; meanwhile its progress on stderr, so stdout holds only the result (and
 * --json stays JSON). A codec error while following (no keys, a refused token) fails the wait
 * at once: the result could not be read either, and a backup may take hours.
 */
async function waitWithProgress<R>(temporal: VsnapClient, handle: WorkflowHandle, o: RunOptions<R>): Promise<R> {
  const view = o.progress
    ? new ProgressView({
        tty: Boolean(process.stderr.isTTY),
        write: (text) => process.stderr.write(text),
        columns: process.stderr.columns,
        plainIntervalMs: PLAIN_PROGRESS_INTERVAL_MS,
      })
    : undefined;
  const stop = new AbortController();
  // Only a codec error ends the wait; anything else (a Temporal hiccup) skips one update.
  const following = view
    ? followRun(temporal.client, handle, view, {
        signal: stop.signal,
        transient: (err) => !(err instanceof CodecError),
      })
    : undefined;
  /** `promise`, or sooner the error that ended the progress display. */
  const unlessFollowingFails = <T>(promise: Promise<T>): Promise<T> =>
    following ? Promise.race([promise, following.then(() => promise)]) : promise;
  try {
    await unlessFollowingFails(Promise.resolve(o.afterStart?.(temporal, o.workflowId)));
    return (await unlessFollowingFails(handle.result())) as R;
  } finally {
    stop.abort();
    await following?.catch(() => undefined);
    view?.finish(false);
  }
}

/** A cancelled restore or drill says whether its target changed (the memo the run sets as it stops). */
async function cancelledText(handle: WorkflowHandle): Promise<string> {
  const memo = await handle
    .describe()
    .then((d) => d.memo)
    .catch(() => undefined);
  const changed = memo?.vsnapTargetChanged;
  const target = typeof memo?.vsnapCluster === 'string' ? memo.vsnapCluster : 'the target';
  if (changed === 'no') return `cancelled; ${target} is unchanged`;
  if (changed === 'yes') return `cancelled; ${target} WAS CHANGED: it holds the restored snapshot`;
  if (changed === 'unknown') return `cancelled; ${target} MAY HAVE BEEN CHANGED: the restore step was cut`;
  return 'cancelled';
}
