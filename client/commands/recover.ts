// vsnap recover: bring back single KV secrets from a snapshot into the live cluster.
import { WorkflowType } from '../../workflows/names';
import type { RecoverProgress } from '../../workflows/recover';
import { parseRecoverInput, type RecoverReport } from '../../workflows/recover-types';
import { formatRecoverItems, formatRecoverReport } from '../../workflows/report-text';
import {
  CONNECTION_HELP,
  CONNECTION_OPTIONS,
  type Command,
  type CommandOptions,
  givenFields,
  numberFlag,
  parseCommandArgs,
  UsageError,
  validInput,
} from '../cli';
import type { VsnapClient } from '../connection';
import { queryProgress } from '../progress';
import { defaultWorkflowId, runWorkflow } from '../run-workflow';
import { sendApproval } from './approve';

const HELP = `Usage: vsnap recover --cluster NAME --path MOUNT/PATH [--snapshot latest|KEY] [--version N] [--to PATH] [--dry-run] [--self-approve [--approver NAME]]

Bring back one KV secret (v1 or v2), or every key of a folder, from a snapshot into the live
cluster, without rolling anything else back. The worker restores the snapshot into a throwaway
server (the cluster's drill.ephemeral), reads the secret there and writes it into the live
cluster as a new version, with check-and-set: if the live secret changed since the run read
it, nothing is written. Prints field names, versions and the new version, never values.

A protected cluster waits for an approval ("vsnap approve WORKFLOW_ID", or --self-approve).
What the run would write is printed before it asks.

Options:
  --cluster NAME        the cluster (required)
  --path PATH           a KV path with its mount, e.g. secret/apps/db, or a folder's keys, secret/apps/*
  --snapshot KEY        "latest" (default) or an exact snapshot key
  --version N           KV v2: the version to bring back (default: the newest in the snapshot holding data)
  --to PATH             write here instead of over the original (a folder ending in / for a folder)
  --dry-run             read and compare only: which fields differ (names only); write nothing
  --self-approve        approve this recover yourself once it asks (a protected cluster)
  --approver NAME       with --self-approve: who approves (default: $USER)
  --approval-timeout M  minutes a protected cluster waits for approval (default 60)
  --no-wait             start and return the workflow id
  --id ID               workflow id (default: recover-CLUSTER-<time>)

${CONNECTION_HELP}

Examples:
  vsnap recover --cluster prod --path secret/apps/db --dry-run
  vsnap recover --cluster prod --path secret/apps/db --version 3 --self-approve
  vsnap recover --cluster prod --path 'secret/apps/*' --to secret/recovered/apps/`;

/** Prints what the run would write as soon as it has read the snapshot (before any approval). */
async function printPlanWhenRead(temporal: VsnapClient, workflowId: string): Promise<void> {
  const handle = temporal.client.workflow.getHandle(workflowId);
  for (;;) {
    const p = await queryProgress<RecoverProgress>(handle);
    if (p?.items) {
      console.error(`read ${p.key ?? 'the snapshot'}:`);
      for (const line of formatRecoverItems(p.items, p.skipped)) console.error(line);
      return;
    }
    if ((await handle.describe()).status.name !== 'RUNNING') return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  cluster: { type: 'string' },
  path: { type: 'string' },
  snapshot: { type: 'string' },
  version: { type: 'string' },
  to: { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
  'self-approve': { type: 'boolean', default: false },
  approver: { type: 'string' },
  'approval-timeout': { type: 'string' },
  'no-wait': { type: 'boolean', default: false },
  id: { type: 'string' },
} as const satisfies CommandOptions;

export const recoverCommand: Command = {
  name: 'recover',
  synopsis: 'Bring back single secrets from a snapshot into the live cluster',
  help: HELP,
  options: OPTIONS,
  async run(argv) {
    const { values } = parseCommandArgs('recover', argv, OPTIONS);
    const input = givenFields([
      ['cluster', values.cluster],
      ['path', values.path],
      ['snapshot', values.snapshot],
      ['version', numberFlag(values.version)],
      ['to', values.to],
      ['dryRun', values['dry-run']],
      ['approvalTimeoutMinutes', numberFlag(values['approval-timeout'])],
    ]);
    validInput('recover', parseRecoverInput, input);
    const selfApprove = values['self-approve'];
    if (values.approver !== undefined && !selfApprove) {
      throw new UsageError('vsnap recover: --approver goes with --self-approve; or run "vsnap approve WORKFLOW_ID"');
    }
    if (selfApprove && values['no-wait']) {
      throw new UsageError('vsnap recover: --self-approve waits for the run to ask for approval; drop --no-wait');
    }
    const approver = values.approver ?? process.env.USER ?? '';
    if (selfApprove && !approver.trim()) {
      throw new UsageError('vsnap recover: --self-approve needs --approver NAME when $USER is not set');
    }
    return runWorkflow<RecoverReport>({
      kind: 'recover',
      cluster: values.cluster,
      workflowType: WorkflowType.recover,
      input,
      workflowId: values.id ?? defaultWorkflowId('recover', values.cluster),
      wait: !values['no-wait'],
      json: values.json,
      flags: values,
      printResult: (r) => console.log(formatRecoverReport(r)),
      afterStart: async (client, id) => {
        if (!values.json && !values['dry-run']) await printPlanWhenRead(client, id);
        if (selfApprove) await sendApproval(client, id, { approver, selfApproved: true }, { waitForPrompt: true });
      },
    });
  },
};
