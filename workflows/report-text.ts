// Human-readable text of a restore/verify report: for the webhook (Slack
// renders `text`) and the CLI. Pure.
import type { RestoreReport } from './restore-types';

const MARK = { pass: 'PASS', fail: 'FAIL', skipped: 'SKIP' } as const;

export function formatReport(r: RestoreReport): string {
  const ageHours = (r.snapshotAgeSeconds / 3600).toFixed(1);
  const lines = [
    `vsnap ${r.kind} of ${r.source} into ${r.target}: ${r.passed ? 'PASSED' : 'FAILED'}${r.dryRun ? ' (dry run)' : ''}`,
    `snapshot ${r.key} (taken ${r.snapshotTakenAt}, ${ageHours} h old)`,
    ...approvalLines(r),
    ...r.checks.map((c) => `  [${MARK[c.status]}] ${c.name}: ${c.actual} (expected ${c.expected})`),
    ...(r.recoverySeconds !== undefined
      ? [`recovery time: ${r.recoverySeconds.toFixed(1)}s (from the start of the restore to every check passing)`]
      : []),
    `steps: ${r.steps.map((s) => `${s.step} ${s.seconds.toFixed(1)}s`).join(', ')}`,
  ];
  return lines.join('\n');
}

/** Who approved a protected target's restore, from which client, and whether the starter approved it. */
function approvalLines(r: RestoreReport): string[] {
  if (!r.approval) return r.approvedBy ? [`approved by ${r.approvedBy}`] : [];
  const { approver, identity, selfApproved, at } = r.approval;
  return [
    `approved by ${approver} at ${at} from client ${identity}` +
      (selfApproved ? ' (self-approved: the command that started the run approved it)' : ''),
  ];
}
