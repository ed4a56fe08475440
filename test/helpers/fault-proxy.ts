// An HTTP proxy in front of a Vault (http or https) that forwards everything, with one fault: the Raft snapshot
// response ends cleanly after `truncateSnapshotAt` bytes (what a standby or a dying leader can
// produce), is throttled, or stops after `holdSnapshotAfterBytes` until the test releases it (a
// run caught mid-stream whatever the snapshot's size); or requests to `delayPath` are held
// `delayMs` before being forwarded (a slow restore, to cancel in the middle of).
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';

export interface FaultProxy {
  address: string;
  snapshotRequests: number;
  delayedRequests: number;
  /** Delayed requests whose client went away before they were forwarded. */
  abandonedRequests: number;
  /** Snapshot bytes sent to clients by throttled and held streams, over all requests. */
  snapshotBytesSent: number;
  /** Lets held snapshot streams go on, and stops holding new ones. */
  releaseSnapshots(): void;
  close(): Promise<void>;
}

export interface Faults {
  truncateSnapshotAt?: number;
  /** Serve the Raft snapshot at this rate: a long upload to interrupt. */
  throttleSnapshotBytesPerSecond?: number;
  /** Send this many bytes of each snapshot, then hold the rest until releaseSnapshots(). */
  holdSnapshotAfterBytes?: number;
  delayPath?: string;
  delayMs?: number;
  /**
   * Called when the target answers a request, before the answer is passed on: a test can act
   * at that exact moment (kill the worker after Vault accepted a snapshot, say).
   */
  onResponse?: (request: { method: string; url: string }, status: number) => void;
  /** How to trust an https:// target: its CA and the name its certificate covers. */
  upstreamTls?: { ca: string; servername?: string };
}

/** Copies `from` to `to` at about `bytesPerSecond`, in 1 KiB slices. */
async function throttled(
  from: http.IncomingMessage,
  to: http.ServerResponse,
  bytesPerSecond: number,
  sent: (bytes: number) => void,
): Promise<void> {
  const slice = 1024;
  try {
    for await (const chunk of from as AsyncIterable<Buffer>) {
      for (let i = 0; i < chunk.length; i += slice) {
        if (to.destroyed) return;
        const piece = chunk.subarray(i, i + slice);
        to.write(piece);
        sent(piece.length);
        await new Promise((r) => setTimeout(r, (slice / bytesPerSecond) * 1000));
      }
    }
    to.end();
  } catch {
    to.destroy();
  }
}

/** Copies `from` to `to`, stopping after `limit` bytes until `released` settles. */
async function held(
  from: http.IncomingMessage,
  to: http.ServerResponse,
  limit: number,
  released: Promise<void>,
  sent: (bytes: number) => void,
): Promise<void> {
  let total = 0;
  try {
    for await (const chunk of from as AsyncIterable<Buffer>) {
      const now = total < limit ? chunk.subarray(0, limit - total) : Buffer.alloc(0);
      if (now.length > 0) to.write(now);
      total += now.length;
      sent(now.length);
      if (now.length < chunk.length) {
        await released;
        if (to.destroyed) {
          from.destroy();
          return;
        }
        to.write(chunk.subarray(now.length));
        sent(chunk.length - now.length);
        total += chunk.length - now.length;
      }
    }
    to.end();
  } catch {
    to.destroy();
  }
}

export async function startFaultProxy(target: string, faults: Faults): Promise<FaultProxy> {
  const upstream = new URL(target);
  const counts = { snapshotRequests: 0, delayedRequests: 0, abandonedRequests: 0, snapshotBytesSent: 0 };
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  let holding = faults.holdSnapshotAfterBytes !== undefined;
  const server = http.createServer((req, res) => {
    const isSnapshot = req.method === 'GET' && req.url === '/v1/sys/storage/raft/snapshot';
    const truncate = faults.truncateSnapshotAt !== undefined && isSnapshot;
    const throttle = isSnapshot ? faults.throttleSnapshotBytesPerSecond : undefined;
    const hold = isSnapshot && holding ? faults.holdSnapshotAfterBytes : undefined;
    if (isSnapshot) counts.snapshotRequests++;
    const forward = (body: Readable = req) => {
      const out = (upstream.protocol === 'https:' ? https : http).request(
        {
          host: upstream.hostname,
          port: upstream.port,
          path: req.url,
          method: req.method,
          headers: req.headers,
          ...(faults.upstreamTls ?? {}),
        },
        (up) => {
          faults.onResponse?.({ method: req.method ?? '', url: req.url ?? '' }, up.statusCode ?? 0);
          const headers = { ...up.headers };
          if (truncate) delete headers['content-length'];
          res.writeHead(up.statusCode ?? 502, headers);
          if (throttle) {
            void throttled(up, res, throttle, (bytes) => (counts.snapshotBytesSent += bytes));
            return;
          }
          if (hold !== undefined) {
            void held(up, res, hold, released, (bytes) => (counts.snapshotBytesSent += bytes));
            return;
          }
          if (!truncate) {
            up.pipe(res);
            return;
          }
          let sent = 0;
          const limit = faults.truncateSnapshotAt!;
          up.on('data', (chunk: Buffer) => {
            if (sent >= limit) return;
            const part = chunk.subarray(0, limit - sent);
            sent += part.length;
            res.write(part);
            if (sent >= limit) {
              res.end();
              up.destroy();
            }
          });
          up.on('end', () => res.end());
        },
      );
      out.on('error', () => res.destroy());
      body.pipe(out);
    };
    if (faults.delayPath && req.url?.startsWith(faults.delayPath)) {
      counts.delayedRequests++;
      // Keep reading the body while holding it: a paused socket would not notice the client
      // going away (no read, no FIN), and the hold must forward nothing to an abandoned request.
      const heldBody: Buffer[] = [];
      const keep = (chunk: Buffer) => heldBody.push(chunk);
      req.on('data', keep);
      // The connection closing before an answer is the client going away (the request stream
      // itself ends, and is destroyed, as soon as its whole body has arrived).
      let gone = false;
      req.socket.once('close', () => {
        if (!res.headersSent) gone = true;
      });
      setTimeout(() => {
        if (gone) {
          counts.abandonedRequests++;
          res.destroy();
          return;
        }
        req.off('data', keep);
        const body = new PassThrough();
        for (const chunk of heldBody) body.write(chunk);
        if (req.complete) body.end();
        else req.pipe(body);
        forward(body);
      }, faults.delayMs ?? 10_000);
      return;
    }
    forward();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `http://127.0.0.1:${port}`,
    get snapshotRequests() {
      return counts.snapshotRequests;
    },
    get delayedRequests() {
      return counts.delayedRequests;
    },
    get abandonedRequests() {
      return counts.abandonedRequests;
    },
    get snapshotBytesSent() {
      return counts.snapshotBytesSent;
    },
    releaseSnapshots() {
      holding = false;
      release();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
