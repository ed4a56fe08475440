// vsnap approve: approve a restore into a protected target that is waiting for it.
import { type VsnapClient } from '../connection';
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
import { queryProgress } from '../progress';
import { connectWith } from '../run-workflow';
import type { ApprovalRequest } from '../../workflows/approval';
import type { RestoreProgress } from '../../workflows/restore-steps';

const STEPS_BEFORE_APPROVAL: string[] = ['plan', 'waiting-for-lock', 'fetch', 'read-snapshot'];

const HELP = `Usage: vsnap approve WORKFLOW_ID [--approver NAME]

Approve a restore (or drill) into a protected cluster. The run's report records who approved,
the identity of this client's Temporal connection, and when. Refused when the run is not waiting
for approval. Who may send it at all is decided by Temporal's permissions on the namespace
(README "Who may approve").

Options:
  --approver NAME   who approves: your name, recorded in the report (default: $USER)

${CONNECTION_HELP}

Example:
  vsnap approve restore-prod-2026-11-28T09-00-00-000Z --approver alice`;

/**
 * Sends the `approve` update with this client's identity (a workflow cannot read the caller's
 * identity itself); with waitForPrompt, first waits until the run asks for it. Returns the
 * identity sent.
 */
export async function sendApproval(
  temporal: VsnapClient,
  workflowId: string,
  approval: { approver: string; selfApproved?: boolean },
  options: { waitForPrompt?: boolean } = {},
): Promise<string> {
  const handle = temporal.client.workflow.getHandle(workflowId);
  const identity = temporal.client.options.identity;
  if (options.waitForPrompt) {
    for (;;) {
      // A run that failed in plan or fetch never asks: stop waiting once it has ended.
      if ((await handle.describe()).status.name !== 'RUNNING') return identity;
      const p = await queryProgress<RestoreProgress>(handle);
      if (p?.step === 'awaiting-approval') break;
      // Past the steps that come before approval: the target is not protected, nothing to approve.
      if (p && !STEPS_BEFORE_APPROVAL.includes(p.step)) return identity;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const request: ApprovalRequest = {
    approver: approval.approver,
    identity,
    ...(approval.selfApproved ? { selfApproved: true } : {}),
  };
  await handle.executeUpdate('approve', { args: [request] });
  return identity;
}

const OPTIONS = { ...CONNECTION_OPTIONS, approver: { type: 'string' } } as const satisfies CommandOptions;

export const approveCommand: Command = {
  name: 'approve',
  synopsis: 'Approve a restore into a protected cluster',
  help: HELP,
  options: OPTIONS,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('approve', argv, OPTIONS, true);
    const [workflowId] = positionals;
    if (!workflowId || positionals.length > 1)
      throw new UsageError('vsnap approve: give exactly one WORKFLOW_ID; see --help');
    const approver = values.approver ?? process.env.USER;
    if (!approver) throw new UsageError('vsnap approve: --approver NAME is required when $USER is not set');
    const temporal = await connectWith(values);
    let identity: string;
    try {
      identity = await sendApproval(temporal, workflowId, { approver });
    } finally {
      await temporal.close();
    }
    if (values.json) printJson({ workflowId, approvedBy: approver, identity });
    else console.log(`approved ${workflowId} as ${approver} (client ${identity})`);
    return ExitCode.ok;
  },
};
