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
  stop(): void;
}

export function startHeartbeat(firstStep: string, intervalMs = 1000): Heartbeat {
  const ctx = Context.current();
  let step = firstStep;
  let details: Record<string, unknown> = { step };
  ctx.heartbeat(details);
  const timer = setInterval(() => ctx.heartbeat(details), intervalMs);
  return {
    progress(bytes) {
      details = { step, bytes };
    },
    phase(next) {
      step = next;
      details = { step };
    },
    stop() {
      clearInterval(timer);
    },
  };
}
