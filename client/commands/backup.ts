// vsnap backup: start a backup of one cluster, optionally wait for its result.
import type { BackupResult } from '../../workflows/backup';
import { parseBackupInput } from '../../workflows/backup-input';
import { WorkflowType } from '../../workflows/names';
import {
  CONNECTION_HELP,
  CONNECTION_OPTIONS,
  type Command,
  type CommandOptions,
  givenFields,
  numberFlag,
  parseCommandArgs,
  validInput,
} from '../cli';
import { defaultWorkflowId, runWorkflow } from '../run-workflow';

const HELP = `Usage: vsnap backup [--cluster NAME] [--keep N] [--wait [--no-progress]]

Start a backup workflow: write the canary, stream a Raft snapshot from the active node into
S3 (validated, SHA-256 recorded), then apply retention.

Options:
  --cluster NAME   cluster from the worker's config (default: the first configured)
  --keep N         keep at most N snapshots of the cluster after this one
  --wait           wait for the run to finish and print its result; meanwhile, its progress on
                   stderr (step, bytes, rate, ETA from the previous snapshot's size): one line
                   redrawn on a terminal, a plain line per step and every 5 s otherwise
  --no-progress    with --wait: no progress, only the result
  --id ID          workflow id (default: backup-CLUSTER-<time>)

${CONNECTION_HELP}

Examples:
  vsnap backup --cluster prod --wait
  VSNAP_CODEC_ENDPOINT=https://vsnap-codec.example.com vsnap backup --cluster prod --wait   # no keys here
  vsnap backup --cluster prod --json`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  cluster: { type: 'string' },
  keep: { type: 'string' },
  wait: { type: 'boolean', default: false },
  'no-progress': { type: 'boolean', default: false },
  id: { type: 'string' },
} as const satisfies CommandOptions;

export const backupCommand: Command = {
  name: 'backup',
  synopsis: 'Back up a Vault cluster now',
  help: HELP,
  options: OPTIONS,
  async run(argv) {
    const { values } = parseCommandArgs('backup', argv, OPTIONS);
    const input = validInput(
      'backup',
      parseBackupInput,
      givenFields([
        ['cluster', values.cluster],
        ['keep', numberFlag(values.keep)],
      ]),
    );
    const workflowId = values.id ?? defaultWorkflowId('backup', input.cluster);
    return runWorkflow<BackupResult>({
      kind: 'backup',
      cluster: input.cluster,
      workflowType: WorkflowType.backup,
      input,
      workflowId,
      wait: values.wait,
      json: values.json,
      flags: values,
      progress: !values['no-progress'],
      printResult: (r) => printBackupResult(workflowId, r),
    });
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
    ...(r.objectLock
      ? [['Locked until', `${r.objectLock.retainUntil} (${r.objectLock.mode})`] as [string, string]]
      : []),
    ['Retention', retentionText(r.retention)],
    ...(r.retention.locked ?? []).map((l): [string, string] => [
      '',
      `${l.key} locked until ${l.retainUntil} (${l.mode})`,
    ]),
    // One line per storage copy: where it is, how it got there, and that it verified.
    ...(r.copies ?? []).map((c): [string, string] => [
      `Copy ${c.name}`,
      `s3://${c.bucket}/${c.key} ${c.status}` +
        (c.status === 'verified' ? ` (${c.method}, SHA-256 matches)` : `: ${c.error}`) +
        (c.lockedUntil ? `, locked until ${c.lockedUntil}` : ''),
    ]),
  ];
  for (const [k, v] of rows) console.log(`${k.padEnd(12)} ${v}`);
}

function retentionText(r: BackupResult['retention']): string {
  if (r.deletedBy === 'lifecycle') return "by the bucket's lifecycle rules; vsnap deletes nothing";
  const locked = r.locked?.length ? `, ${r.locked.length} expired but locked (kept until their lock ends)` : '';
  return `${r.deleted.length} deleted, ${r.remaining} kept${locked}`;
}
