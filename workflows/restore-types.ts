// Types shared by the restore and verify workflows, their activities, the CLI and the docs.
// Pure types: safe in the workflow sandbox.
import type { SnapshotManifest } from '../activities/storage/manifest';

/** What planRestore needs: validated workflow input, minus workflow-only options. */
export interface RestorePlanRequest {
  /** Cluster to restore into. For verify, defaults to the drill cluster of `source`. */
  target?: string;
  /** Cluster whose snapshot is restored. Default: the target's drillSource, else the target itself. */
  source?: string;
  /** "latest" (newest valid snapshot of the source) or an exact S3 key. */
  snapshot: string;
  /** Intent to restore another cluster's snapshot into a target not declared as its drill. */
  force: boolean;
}

export interface RestorePlan {
  target: string;
  source: string;
  targetAddress: string;
  targetProtected: boolean;
  /** snapshot-force: the snapshot comes from another cluster. */
  force: boolean;
  bucket: string;
  key: string;
  manifest: SnapshotManifest;
  snapshotTakenAt: string;
  /** The target is a throwaway server the worker starts for this drill (the source's drill.ephemeral). */
  ephemeral?: boolean;
}

export interface RestoreCheck {
  name: string;
  status: 'pass' | 'fail' | 'skipped';
  expected: string;
  actual: string;
}

/** Whether a run changed its target: "unknown" when a restore step stopped after it may have sent the snapshot. */
export type TargetChange = 'no' | 'yes' | 'unknown';

export interface StepTiming {
  step: string;
  seconds: number;
}

export interface RestoreReport {
  kind: 'restore' | 'verify';
  target: string;
  source: string;
  key: string;
  snapshotTakenAt: string;
  snapshotAgeSeconds: number;
  dryRun: boolean;
  /** Who approved a restore into a protected target (the same as `approval.approver`). */
  approvedBy?: string;
  /** How a protected target's restore was approved; absent when no approval was needed. */
  approval?: ApprovalRecord;
  passed: boolean;
  checks: RestoreCheck[];
  steps: StepTiming[];
  /**
   * After the restore, vsnap unsealed the target with the source's key shares (a Shamir seal on
   * another keyring). False when the target's own seal (auto-unseal) brought it back.
   */
  unsealedWithKeyShares?: boolean;
  /** The target now holds the restored snapshot (false for a dry run). */
  targetChanged?: boolean;
  /** Seconds from the start of the restore to every check passing (absent for a dry run). */
  recoverySeconds?: number;
}

/** An approval of a restore into a protected target, as the run recorded it. */
export interface ApprovalRecord {
  /** The person's name the approval carried. */
  approver: string;
  /** The approving client's Temporal identity as the client sent it, or "unknown (not sent)". */
  identity: string;
  /** The command that started the run approved it too (`vsnap restore --self-approve`). */
  selfApproved: boolean;
  /** When the run accepted the approval (workflow time, ISO 8601). */
  at: string;
}

/** Stored next to a snapshot's manifest by a drill. */
export interface VerificationRecord {
  verifiedAt: string;
  passed: boolean;
  workflowId: string;
  target: string;
  checks: RestoreCheck[];
  recoverySeconds?: number;
}
