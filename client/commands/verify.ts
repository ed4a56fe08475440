// vsnap verify: run a restore drill of a cluster's backup into its drill cluster.
import { WorkflowType } from '../../workflows/names';
import { formatReport } from '../../workflows/report-text';
import { parseVerifyInput } from '../../workflows/restore-input';
import type { RestoreReport } from '../../workflows/restore-types';
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
import { assertFromIsConfigured } from '../snapshot-from';

const HELP = `Usage: vsnap verify [--cluster NAME] [--target DRILL] [--snapshot latest|KEY] [--from primary|NAME|any] [--no-wait]

Restore drill: restore the latest (or a given) backup of a cluster into its drill cluster (or,
with none, into a throwaway server the worker starts on loopback and wipes afterwards),
regenerate root, check the canary, the inventory, every mount, the storage entries per mount
and a real login, revoke every token, and print the report with the recovery time. Fails
(exit 1) when a check fails, naming which and why.

Options:
  --cluster NAME      the cluster whose backup is drilled (default: the drill cluster's drillSource)
  --target NAME       the drill cluster (default: the cluster whose drillSource is --cluster,
                      else a throwaway server); "ephemeral" asks for the throwaway server
  --snapshot KEY      "latest" (default) or an exact snapshot key
  --max-age-days N    the canary must be younger than this (default 8, as in the cron-job procedure)
  --from WHERE        where to read the snapshot: "primary" (default), a copy's name (storage.copies),
                      or "any": the primary, else each copy in config order, passing over one that is
                      unreachable or damaged
  --webhook URL       Slack-compatible webhook notified on failure
  --notify-success    also notify on success
  --no-wait           start and return the workflow id
  --no-progress       only the report: no progress (step, bytes, rate, ETA) on stderr while waiting
  --id ID             workflow id (default: verify-CLUSTER-<time>)

${CONNECTION_HELP}

Examples:
  vsnap verify --cluster prod
  vsnap verify --cluster prod --snapshot vsnap/prod/2026-11-28T01-28-02.081Z.snap --json
  vsnap verify --cluster prod --from offsite    # drill the off-site copy (storage.copies)`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  cluster: { type: 'string' },
  target: { type: 'string' },
  snapshot: { type: 'string' },
  'max-age-days': { type: 'string' },
  from: { type: 'string' },
  webhook: { type: 'string' },
  'notify-success': { type: 'boolean', default: false },
  'no-wait': { type: 'boolean', default: false },
  'no-progress': { type: 'boolean', default: false },
  id: { type: 'string' },
} as const satisfies CommandOptions;

export const verifyCommand: Command = {
  name: 'verify',
  synopsis: 'Run a restore drill and print its report',
  help: HELP,
  options: OPTIONS,
  async run(argv) {
    const { values } = parseCommandArgs('verify', argv, OPTIONS);
    const input = givenFields([
      ['cluster', values.cluster],
      ['target', values.target],
      ['snapshot', values.snapshot],
      ['maxAgeDays', numberFlag(values['max-age-days'])],
      ['from', values.from],
      ['webhookUrl', values.webhook],
      ['notifyOnSuccess', values['notify-success']],
    ]);
    validInput('verify', parseVerifyInput, input);
    assertFromIsConfigured(
      'verify',
      values.from,
      (config) => values.cluster ?? config.clusters.find((c) => c.drillSource !== undefined)?.drillSource,
    );
    return runWorkflow<RestoreReport>({
      kind: 'verify',
      cluster: values.cluster,
      workflowType: WorkflowType.verify,
      input,
      workflowId: values.id ?? defaultWorkflowId('verify', values.cluster),
      wait: !values['no-wait'],
      json: values.json,
      flags: values,
      progress: !values['no-progress'],
      printResult: (r) => console.log(formatReport(r)),
    });
  },
};
