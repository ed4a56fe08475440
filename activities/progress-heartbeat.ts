// Heartbeats for long activities. One per second, whatever happens: they prove the worker is
// alive through silent phases (Vault preparing a large snapshot, S3 assembling the parts on
// CompleteMultipartUpload, Vault applying a restore), and they carry cancellation to the
// activity. Progress only updates what the next heartbeat says: sending one per 64 KiB chunk
// cost measurable CPU in payload conversion and encryption.
import { Context } from '@temporalio/activity';

export interface Heartbeat {
  progress(bytes: number): void;
  /** A new step, e.g. from streaming to waiting for the target. */
  phase(step: string): void;
  /**
   * Facts a later try of the same activity must know (a generate-root nonce, "the snapshot
   * was sent"), kept in every heartbeat from now on and sent at once.
   */
  record(facts: Record<string, unknown>): void;
  stop(): void;
}

/** What the previous try of this activity recorded with Heartbeat.record, if it was retried. */
export function recordedByPreviousTry<T extends Record<string, unknown>>(): Partial<T> {
  const details: unknown = Context.current().info.heartbeatDetails;
  return details && typeof details === 'object' ? details : {};
}

export function startHeartbeat(firstStep: string, intervalMs = 1000): Heartbeat {
  const ctx = Context.current();
  let step = firstStep;
  // A retried try starts from what the previous one recorded, so the facts carry over again.
  let facts: Record<string, unknown> = { ...recordedByPreviousTry() };
  delete facts.step;
  delete facts.bytes;
  let details: Record<string, unknown> = { ...facts, step };
  ctx.heartbeat(details);
  const timer = setInterval(() => ctx.heartbeat(details), intervalMs);
  return {
    progress(bytes) {
      details = { ...facts, step, bytes };
    },
    phase(next) {
      step = next;
      details = { ...facts, step };
    },
    record(more) {
      facts = { ...facts, ...more };
      details = { ...details, ...more };
      ctx.heartbeat(details);
    },
    stop() {
      clearInterval(timer);
    },
  };
}
