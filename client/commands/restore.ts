// vsnap restore: restore a snapshot into a target cluster.
import { WorkflowType } from '../../workflows/names';
import { formatReport } from '../../workflows/report-text';
import { parseRestoreInput } from '../../workflows/restore-input';
import type { RestoreReport } from '../../workflows/restore-types';
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
import { defaultWorkflowId, runWorkflow } from '../run-workflow';
import { assertFromIsConfigured } from '../snapshot-from';
import { sendApproval } from './approve';

const HELP = `Usage: vsnap restore --target NAME [--snapshot latest|KEY] [--source NAME] [--force] [--dry-run] [--from primary|NAME|any] [--self-approve [--approver NAME]]

Restore a snapshot into a cluster, wait until it really serves the restored data, regenerate
root, check the canary, inventory and a real login, and revoke every token it made.

A protected target (every cluster unless its config says "protected": false) waits for an
approval: someone runs "vsnap approve WORKFLOW_ID". To approve your own restore in this command,
say so with --self-approve; the report records that the run was self-approved.

Options:
  --target NAME        the cluster to restore into (required)
  --snapshot KEY       "latest" (default) or an exact snapshot key
  --source NAME        the cluster whose snapshot to restore (default: the target's drillSource, else the target)
  --force              intent to replace the target's data with another cluster's snapshot
  --dry-run            fetch and validate only; the target is not touched
  --self-approve       approve this restore yourself once it asks (a protected target); recorded as self-approved
  --approver NAME      with --self-approve: who approves (default: $USER)
  --approval-timeout M minutes a protected target waits for approval (default 60)
  --max-age-days N     the canary must be younger than this (default 8)
  --from WHERE         where to read the snapshot: "primary" (default), a copy's name (storage.copies),
                       or "any": the primary, else each copy in config order, passing over one that is
                       unreachable or damaged (checked against its manifest before the target is touched)
  --no-wait            start and return the workflow id
  --no-progress        only the report: no progress (step, bytes, rate, ETA) on stderr while waiting
  --id ID              workflow id (default: restore-TARGET-<time>)

${CONNECTION_HELP}

Examples:
  vsnap restore --target drill
  vsnap restore --target prod --snapshot vsnap/prod/2026-11-28T01-28-02.081Z.snap   # then: vsnap approve ID
  vsnap restore --target prod --snapshot vsnap/prod/2026-11-28T01-28-02.081Z.snap --self-approve --approver alice
  vsnap restore --target drill --dry-run --json
  vsnap restore --target drill --from any      # the primary, else the first intact copy`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  target: { type: 'string' },
  snapshot: { type: 'string' },
  source: { type: 'string' },
  force: { type: 'boolean', default: false },
  'dry-run': { type: 'boolean', default: false },
  'self-approve': { type: 'boolean', default: false },
  approver: { type: 'string' },
  'approval-timeout': { type: 'string' },
  'max-age-days': { type: 'string' },
  from: { type: 'string' },
  'no-wait': { type: 'boolean', default: false },
  'no-progress': { type: 'boolean', default: false },
  id: { type: 'string' },
} as const satisfies CommandOptions;

// Not in the help or completion: accepted only to say what replaced it.
const RETIRED_OPTIONS = {
  approve: { type: 'boolean', default: false },
} as const satisfies CommandOptions;

export const restoreCommand: Command = {
  name: 'restore',
  synopsis: 'Restore a snapshot into a cluster',
  help: HELP,
  options: OPTIONS,
  async run(argv) {
    const { values } = parseCommandArgs('restore', argv, { ...OPTIONS, ...RETIRED_OPTIONS });
    if (values.approve) {
      throw new UsageError(
        'vsnap restore: --approve was replaced by --self-approve: approving the restore you start yourself must be ' +
          'said explicitly, and the report records it. Or leave it out and have someone run "vsnap approve WORKFLOW_ID"',
      );
    }
    const input = givenFields([
      ['target', values.target],
      ['snapshot', values.snapshot],
      ['source', values.source],
      ['force', values.force],
      ['dryRun', values['dry-run']],
      ['approvalTimeoutMinutes', numberFlag(values['approval-timeout'])],
      ['maxAgeDays', numberFlag(values['max-age-days'])],
      ['from', values.from],
    ]);
    validInput('restore', parseRestoreInput, input);
    assertFromIsConfigured('restore', values.from, (config) => {
      const target = config.clusters.find((c) => c.name === values.target);
      return values.source ?? target?.drillSource ?? values.target;
    });
    const selfApprove = values['self-approve'];
    if (values.approver !== undefined && !selfApprove) {
      throw new UsageError(
        'vsnap restore: --approver goes with --self-approve; to approve a restore someone else started, run "vsnap approve WORKFLOW_ID"',
      );
    }
    if (selfApprove && values['no-wait']) {
      throw new UsageError('vsnap restore: --self-approve waits for the run to ask for approval; drop --no-wait');
    }
    const approver = values.approver ?? process.env.USER ?? '';
    if (selfApprove && !approver.trim()) {
      throw new UsageError('vsnap restore: --self-approve needs --approver NAME when $USER is not set');
    }
    return runWorkflow<RestoreReport>({
      kind: 'restore',
      cluster: values.target,
      workflowType: WorkflowType.restore,
      input,
      workflowId: values.id ?? defaultWorkflowId('restore', values.target),
      wait: !values['no-wait'],
      json: values.json,
      flags: values,
      progress: !values['no-progress'],
      printResult: (r) => console.log(formatReport(r)),
      ...(selfApprove
        ? {
            afterStart: async (client, id) => {
              await sendApproval(client, id, { approver, selfApproved: true }, { waitForPrompt: true });
            },
          }
        : {}),
    });
  },
};
