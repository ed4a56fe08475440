// Heartbeats that carry progress. The SDK throttles what it sends to the server, but every
// call still converts (and encrypts) its details; a stream calling it per 64 KiB chunk spent
// measurable CPU on that alone. This sends at most one heartbeat per `intervalMs`.
import { Context } from '@temporalio/activity';

export function progressHeartbeat(step: string, intervalMs = 1000): (bytes: number) => void {
  const ctx = Context.current();
  let last = 0;
  return (bytes) => {
    const now = Date.now();
    if (now - last < intervalMs) return;
    last = now;
    ctx.heartbeat({ step, bytes });
  };
}
