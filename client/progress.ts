// What a run is doing right now: its status, the step from the `progress` query, and the live
// byte count from the running activity's heartbeat. Rendered as a bar on a TTY, as plain
// lines otherwise (logs, CI).
import type { Client, WorkflowHandle } from '@temporalio/client';
import { decodeOptionalSinglePayload } from '@temporalio/common/lib/internal-non-workflow';

export interface RunProgress {
  workflowId: string;
  type: string;
  status: string;
  step?: string;
  bytes?: number;
  totalBytes?: number;
  /** Attempt of the running activity; > 1 means it is being retried. */
  attempt?: number;
  /** While the run waits for its cluster's lock: the operation it waits for. */
  waitingFor?: { workflowId: string; kind: string };
  lastFailure?: string;
}

interface ProgressQuery {
  step?: string;
  waitingFor?: { workflowId: string; kind: string };
  bytes?: number;
  totalBytes?: number;
}

/**
 * `client` decodes the heartbeat details as it decodes everything else: with payload
 * encryption on, they are encrypted like any payload the worker writes.
 */
export async function readProgress(client: Client, handle: WorkflowHandle): Promise<RunProgress> {
  const d = await handle.describe();
  const p: RunProgress = { workflowId: d.workflowId, type: d.type, status: d.status.name };
  const q = await handle.query<ProgressQuery>('progress').catch(() => undefined);
  if (q?.step) p.step = q.step;
  if (q?.waitingFor) p.waitingFor = q.waitingFor;
  if (q?.totalBytes) p.totalBytes = q.totalBytes;
  if (q?.bytes) p.bytes = q.bytes;
  const pending = d.raw.pendingActivities?.[0];
  const payload = pending?.heartbeatDetails?.payloads?.[0];
  if (payload) {
    const details = await decodeOptionalSinglePayload<{ step?: string; bytes?: number }>(
      client.options.loadedDataConverter,
      payload,
    );
    if (typeof details?.bytes === 'number') p.bytes = details.bytes;
  }
  if (pending?.attempt && pending.attempt > 1) p.attempt = pending.attempt;
  if (pending?.lastFailure?.message) p.lastFailure = pending.lastFailure.message;
  return p;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Tracks the byte rate between samples, for rate and ETA. */
export class RateMeter {
  private last?: { at: number; bytes: number };
  rate = 0;

  sample(bytes: number | undefined, now = Date.now()): void {
    if (bytes === undefined) return;
    if (this.last && now > this.last.at && bytes >= this.last.bytes) {
      const instant = ((bytes - this.last.bytes) * 1000) / (now - this.last.at);
      this.rate = this.rate === 0 ? instant : 0.7 * this.rate + 0.3 * instant;
    }
    this.last = { at: now, bytes };
  }
}

export function formatProgress(p: RunProgress, rate: number, width = 30): string {
  const parts = [`${p.type} ${p.workflowId}`, p.status.toLowerCase()];
  if (p.step) parts.push(`step ${p.step}`);
  if (p.waitingFor) parts.push(`behind ${p.waitingFor.kind} ${p.waitingFor.workflowId}`);
  if (p.bytes !== undefined) {
    if (p.totalBytes) {
      const done = Math.min(1, p.bytes / p.totalBytes);
      const filled = Math.round(done * width);
      parts.push(`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(done * 100).toFixed(0)}%`);
      parts.push(`${mib(p.bytes)}/${mib(p.totalBytes)}`);
      if (rate > 0) parts.push(`ETA ${Math.ceil((p.totalBytes - p.bytes) / rate)}s`);
    } else {
      parts.push(mib(p.bytes));
    }
    if (rate > 0) parts.push(`${mib(rate)}/s`);
  }
  if (p.attempt) parts.push(`attempt ${p.attempt}${p.lastFailure ? ` (last: ${p.lastFailure})` : ''}`);
  return parts.join('  ');
}
