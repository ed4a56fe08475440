// vsnap approve: approve a restore into a protected target that is waiting for it.
import { type VsnapClient } from '../connection';
import {
  CONNECTION_HELP,
  CONNECTION_OPTIONS,
  type Command,
  ExitCode,
  parseCommandArgs,
  printJson,
  UsageError,
} from '../cli';
import { connectWith } from '../run-workflow';
import type { RestoreProgress } from '../../workflows/restore-steps';

const HELP = `Usage: vsnap approve WORKFLOW_ID [--approver NAME]

Approve a restore (or drill) into a protected cluster. The run records who approved.
Refused when the run is not waiting for approval.

Options:
  --approver NAME   who approves (default: $USER)

${CONNECTION_HELP}

Example:
  vsnap approve restore-prod-2026-11-28T09-00-00-000Z --approver alice`;

/** Sends the `approve` update; with waitForPrompt, first waits until the run asks for it. */
export async function sendApproval(
  temporal: VsnapClient,
  workflowId: string,
  approver: string,
  options: { waitForPrompt?: boolean } = {},
): Promise<void> {
  const handle = temporal.client.workflow.getHandle(workflowId);
  if (options.waitForPrompt) {
    for (;;) {
      const p = await handle.query<RestoreProgress>('progress').catch(() => undefined);
      if (p?.step === 'awaiting-approval') break;
      if (p && p.step !== 'plan' && p.step !== 'fetch') return; // not protected: nothing to approve
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  await handle.executeUpdate('approve', { args: [{ approver }] });
}

export const approveCommand: Command = {
  name: 'approve',
  synopsis: 'Approve a restore into a protected cluster',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      'approve',
      argv,
      { ...CONNECTION_OPTIONS, approver: { type: 'string' } },
      true,
    );
    const [workflowId] = positionals;
    if (!workflowId || positionals.length > 1)
      throw new UsageError('vsnap approve: give exactly one WORKFLOW_ID; see --help');
    const approver = values.approver ?? process.env.USER;
    if (!approver) throw new UsageError('vsnap approve: --approver NAME is required when $USER is not set');
    const temporal = await connectWith(values);
    try {
      await sendApproval(temporal, workflowId, approver);
    } finally {
      await temporal.close();
    }
    if (values.json) printJson({ workflowId, approvedBy: approver });
    else console.log(`approved ${workflowId} as ${approver}`);
    return ExitCode.ok;
  },
};
