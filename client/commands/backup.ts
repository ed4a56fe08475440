// vsnap backup: start a backup of one cluster, optionally wait for its result.
import { WorkflowFailedError } from '@temporalio/client';
import type { BackupResult } from '../../workflows/backup';
import { parseBackupInput } from '../../workflows/backup-input';
import { WorkflowType } from '../../workflows/names';
import { connectTemporal } from '../connection';
import {
  CONNECTION_HELP,
  CONNECTION_OPTIONS,
  type Command,
  ExitCode,
  parseCommandArgs,
  printJson,
  UsageError,
} from '../cli';
import { describeFailure } from '../failure-text';

const HELP = `Usage: vsnap backup [--cluster NAME] [--keep N] [--wait]

Start a backup workflow: write the canary, stream a Raft snapshot from the active node into
S3 (validated, SHA-256 recorded), then apply retention.

Options:
  --cluster NAME   cluster from the worker's config (default: the first configured)
  --keep N         keep at most N snapshots of the cluster after this one
  --wait           wait for the run to finish and print its result
  --id ID          workflow id (default: backup-CLUSTER-<time>)

${CONNECTION_HELP}

Examples:
  vsnap backup --cluster prod --wait
  vsnap backup --cluster prod --json`;

export const backupCommand: Command = {
  name: 'backup',
  synopsis: 'Back up a Vault cluster now',
  help: HELP,
  async run(argv) {
    const { values } = parseCommandArgs('backup', argv, {
      ...CONNECTION_OPTIONS,
      cluster: { type: 'string' },
      keep: { type: 'string' },
      wait: { type: 'boolean', default: false },
      id: { type: 'string' },
    });
    if (values.help) {
      console.log(HELP);
      return ExitCode.ok;
    }
    const raw = {
      ...(values.cluster !== undefined ? { cluster: values.cluster } : {}),
      ...(values.keep !== undefined ? { keep: Number(values.keep) } : {}),
    };
    let input;
    try {
      input = parseBackupInput(raw);
    } catch (err) {
      throw new UsageError(`vsnap backup: ${(err as Error).message}`);
    }
    const temporal = await connectTemporal({
      ...(values.address ? { address: values.address } : {}),
      ...(values.namespace ? { namespace: values.namespace } : {}),
      ...(values['task-queue'] ? { taskQueue: values['task-queue'] } : {}),
    });
    try {
      const workflowId =
        values.id ?? `backup-${input.cluster ?? 'default'}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      const handle = await temporal.client.workflow.start(WorkflowType.backup, {
        taskQueue: temporal.taskQueue,
        workflowId,
        args: [input],
      });
      if (!values.wait) {
        if (values.json) printJson({ workflowId, runId: handle.firstExecutionRunId });
        else console.log(`started backup ${workflowId} (run ${handle.firstExecutionRunId})`);
        return ExitCode.ok;
      }
      if (!values.json) console.error(`backup ${workflowId} started; waiting for it to finish...`);
      try {
        const result = (await handle.result()) as BackupResult;
        if (values.json) printJson({ workflowId, ...result });
        else printBackupResult(workflowId, result);
        return ExitCode.ok;
      } catch (err) {
        if (!(err instanceof WorkflowFailedError)) throw err;
        const text = describeFailure(err);
        if (values.json) printJson({ workflowId, status: 'failed', error: text });
        else console.error(`backup ${workflowId} failed: ${text}`);
        return ExitCode.runFailed;
      }
    } finally {
      await temporal.close();
    }
  },
};

function printBackupResult(workflowId: string, r: BackupResult): void {
  const rows: [string, string][] = [
    ['Workflow', workflowId],
    ['Cluster', r.cluster],
    ['Key', `s3://${r.bucket}/${r.key}`],
    ['Size', `${r.size} bytes`],
    ['SHA-256', r.sha256],
    ['Raft index', `${r.raftIndex} (term ${r.raftTerm})`],
    ['Canary', String(r.canaryValue)],
    ['Duration', `${r.durationSeconds.toFixed(1)}s`],
    ['Retention', `${r.retention.deleted.length} deleted, ${r.retention.remaining} kept`],
  ];
  for (const [k, v] of rows) console.log(`${k.padEnd(12)} ${v}`);
}
