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
  /** "primary" (absent), a copy's name, or "any": where the snapshot is read from. */
  from?: string;
}

/** One place a planned snapshot can be read: the primary or a copy (storage.copies), and its key there. */
export interface PlanLocation {
  /** "primary" or the copy's name. */
  name: string;
  bucket: string;
  key: string;
}

/** A location a restore "from": "any" did not read from, and why. */
export interface SkippedLocation {
  name: string;
  /** "unreachable", "damaged", "missing" or "refused", then what was seen. */
  problem: string;
}

/** Where a run read its snapshot: the report's answer to "which copy did we restore?". */
export interface ReadFrom {
  /** What the run asked for: "primary", a copy's name, or "any". */
  from: string;
  /** The location read: "primary" or a copy's name. */
  location: string;
  bucket: string;
  key: string;
  /** Locations tried first and passed over ("any"), in order. */
  skipped: SkippedLocation[];
}

export interface RestorePlan {
  target: string;
  source: string;
  targetAddress: string;
  targetProtected: boolean;
  /** snapshot-force: the snapshot comes from another cluster. */
  force: boolean;
  /** The primary's bucket and the snapshot's key under the cluster's own prefix: its name in reports and records. */
  bucket: string;
  key: string;
  manifest: SnapshotManifest;
  snapshotTakenAt: string;
  /** What the run asked for (absent: "primary"). */
  from?: string;
  /** The location the object is read from; absent: the primary (bucket and key above). */
  location?: PlanLocation;
  /** "any": the locations still to try, in order, by the verifying fetch that picks one. */
  candidates?: PlanLocation[];
  /** Locations the plan already found unusable (the primary's listing unreachable). */
  skipped?: SkippedLocation[];
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
  /** Where the snapshot was read (absent in runs from before copies). */
  readFrom?: ReadFrom;
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
