// Human-readable text of a restore/verify report: for the webhook (Slack
// renders `text`) and the CLI. Pure.
import type { RecoverItem, RecoverReport } from './recover-types';
import type { ReadFrom, RestoreReport } from './restore-types';

const MARK = { pass: 'PASS', fail: 'FAIL', skipped: 'SKIP' } as const;

export function formatReport(r: RestoreReport): string {
  const ageHours = (r.snapshotAgeSeconds / 3600).toFixed(1);
  const lines = [
    `vsnap ${r.kind} of ${r.source} into ${r.target}: ${r.passed ? 'PASSED' : 'FAILED'}${r.dryRun ? ' (dry run)' : ''}`,
    `snapshot ${r.key} (taken ${r.snapshotTakenAt}, ${ageHours} h old)`,
    ...readFromLines(r.readFrom),
    ...approvalLines(r),
    ...r.checks.map((c) => `  [${MARK[c.status]}] ${c.name}: ${c.actual} (expected ${c.expected})`),
    ...(r.recoverySeconds !== undefined
      ? [`recovery time: ${r.recoverySeconds.toFixed(1)}s (from the start of the restore to every check passing)`]
      : []),
    `steps: ${r.steps.map((s) => `${s.step} ${s.seconds.toFixed(1)}s`).join(', ')}`,
  ];
  return lines.join('\n');
}

/** "primary" or `copy "offsite"`, as reports and failures name a location. */
export function locationLabel(name: string): string {
  return name === 'primary' ? 'primary' : `copy "${name}"`;
}

/** Which location the snapshot was read from, and why any tried first was passed over; nothing for a plain primary read. */
function readFromLines(readFrom: ReadFrom | undefined): string[] {
  if (!readFrom || (readFrom.from === 'primary' && readFrom.skipped.length === 0)) return [];
  const skipped = readFrom.skipped.map((s) => `${locationLabel(s.name)}: ${s.problem}`).join('; ');
  return [
    `source: ${locationLabel(readFrom.location)} s3://${readFrom.bucket}/${readFrom.key}` +
      (skipped ? ` (${skipped})` : '') +
      (readFrom.from === 'any' ? ' [from any]' : ''),
  ];
}

/** Who approved a protected target's restore, from which client, and whether the starter approved it. */
function approvalLines(r: Pick<RestoreReport, 'approval' | 'approvedBy'>): string[] {
  if (!r.approval) return r.approvedBy ? [`approved by ${r.approvedBy}`] : [];
  const { approver, identity, selfApproved, at } = r.approval;
  return [
    `approved by ${approver} at ${at} from client ${identity}` +
      (selfApproved ? ' (self-approved: the command that started the run approved it)' : ''),
  ];
}

/** One line per secret of a recover: where from, where to, versions and field names, never values. */
export function formatRecoverItems(items: RecoverItem[], skipped: string[] = []): string[] {
  const names = (label: string, fields: string[]) => (fields.length ? [`${label} ${fields.join(', ')}`] : []);
  return [
    ...items.map((i) => {
      const from = `${i.path}${i.snapshotVersion ? ` v${i.snapshotVersion}` : ''}`;
      const live =
        i.live.state === 'present'
          ? `live v${i.live.version || '-'}`
          : i.live.state === 'deleted'
            ? `live v${i.live.version} deleted`
            : 'live: absent';
      const outcome = i.written
        ? `written${i.newVersion ? ` as v${i.newVersion}` : ''}`
        : i.identical
          ? 'identical, nothing to write'
          : 'to write';
      const diff = [
        ...names('changed:', i.changedFields),
        ...names('restored:', i.addedFields),
        ...names('dropped:', i.removedFields),
      ];
      return `  ${from} -> ${i.to} (${live}): ${outcome}; fields ${i.fields.join(', ') || '(none)'}${diff.length ? `; ${diff.join('; ')}` : ''}`;
    }),
    ...skipped.map((s) => `  ${s} skipped: a sub-folder (recover it with its own path)`),
  ];
}

export function formatRecoverReport(r: RecoverReport): string {
  const verb = r.dryRun ? 'would write' : 'wrote';
  const toWrite = r.items.filter((i) => !i.identical).length;
  return [
    `vsnap recover of ${r.path} on ${r.cluster}: ${r.dryRun ? `dry run, ${verb} ${toWrite}` : `${verb} ${r.written}`} of ${r.items.length} secrets`,
    `snapshot ${r.key} (taken ${r.snapshotTakenAt})`,
    ...(r.approval ? approvalLines({ approval: r.approval }) : []),
    ...formatRecoverItems(r.items, r.skipped),
    `steps: ${r.steps.map((s) => `${s.step} ${s.seconds.toFixed(1)}s`).join(', ')}`,
  ].join('\n');
}
