// vsnap status / vsnap watch: where a run is, once or live until it ends.
import { WorkflowNotFoundError } from '@temporalio/client';
import {
  CONNECTION_HELP,
  CONNECTION_OPTIONS,
  type Command,
  type CommandOptions,
  ExitCode,
  parseCommandArgs,
  printJson,
  UsageError,
} from '../cli';
import { describeFailure } from '../../workflows/failure-chain';
import { followRun, ProgressView, readProgress } from '../progress';
import { connectWith } from '../run-workflow';

const HELP = `Usage: vsnap status WORKFLOW_ID [--watch]
       vsnap watch WORKFLOW_ID

Show a run's status and current step; with --watch (or "vsnap watch"), follow it until it ends:
a live progress bar (step, bytes, rate, ETA) on a terminal, one line per change otherwise.
Exit code: 0 completed or still running, 1 failed, cancelled or terminated.

${CONNECTION_HELP}

Examples:
  vsnap status backup-prod-2026-11-28T06-00-00-000Z
  vsnap watch verify-prod-2026-11-28T03-00-00-000Z`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  watch: { type: 'boolean', default: false },
} as const satisfies CommandOptions;

const FINAL_FAILURES = new Set(['FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT']);

function statusCommand(name: 'status' | 'watch'): Command {
  return {
    name,
    synopsis: name === 'status' ? "Show a run's status and step" : 'Follow a run live until it ends',
    help: HELP,
    options: OPTIONS,
    async run(argv) {
      const { values, positionals } = parseCommandArgs(name, argv, OPTIONS, true);
      const [workflowId] = positionals;
      if (!workflowId || positionals.length > 1) throw new UsageError(`vsnap ${name}: give exactly one WORKFLOW_ID`);
      const follow = name === 'watch' || values.watch;
      // Here progress is the output: on stdout, a line per change off a terminal.
      const view = values.json
        ? undefined
        : new ProgressView({
            tty: Boolean(process.stdout.isTTY),
            write: (text) => process.stdout.write(text),
            columns: process.stdout.columns,
            plainIntervalMs: 0,
          });
      const temporal = await connectWith(values);
      try {
        const handle = temporal.client.workflow.getHandle(workflowId);
        const p =
          (follow ? await followRun(temporal.client, handle, view) : undefined) ??
          (await readProgress(temporal.client, handle));
        if (!follow) view?.show(p);
        view?.finish(true);
        if (values.json) printJson(p);
        if (FINAL_FAILURES.has(p.status)) {
          if (!values.json) {
            const why = await handle.result().then(
              () => '',
              (err: unknown) => describeFailure(err),
            );
            if (why) console.error(`${p.status.toLowerCase()}: ${why}`);
          }
          return ExitCode.runFailed;
        }
        return ExitCode.ok;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw new UsageError(`vsnap ${name}: no workflow "${workflowId}"`);
        throw err;
      } finally {
        view?.finish(true);
        await temporal.close();
      }
    },
  };
}

export const statusCmd = statusCommand('status');
export const watchCmd = statusCommand('watch');
