// A fault-injecting HTTP proxy in front of an S3 endpoint. Every `every`-th request gets a
// fault, cycling through what a real store and network do under load: 503 SlowDown, 500
// InternalError, a connection reset while the request body is arriving, and a slow (delayed)
// answer. Optionally chosen large downloads (the 1st, the 3rd, ...) are cut off halfway. Faults never hit two
// consecutive requests, so the SDK's own retry can succeed; what escapes it must be retried by
// Temporal. Signatures stay valid: the Host header is forwarded unchanged.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type S3Fault = 'slowDown' | 'internalError' | 'reset' | 'slow';
const CYCLE: S3Fault[] = ['slowDown', 'internalError', 'reset', 'slow'];

export interface FlakyS3Options {
  every: number;
  slowMs?: number;
  /** Which GET responses larger than `cutDownloadsOver` to cut after half their bytes, counted from 1. */
  cutDownloads?: number[];
  cutDownloadsOver?: number;
  /** Answer HeadBucket 403, as S3 does to a role without s3:ListBucket on the bucket. */
  denyHeadBucket?: boolean;
  /** Listen here rather than on a free port the system picks. */
  port?: number;
}

export interface FlakyS3 {
  address: string;
  requests: number;
  faults: Record<S3Fault | 'cutDownload', number>;
  /**
   * Buckets whose every request (path-style: /BUCKET/...) has its connection dropped, as an
   * unreachable endpoint would: one bucket down while others on the same endpoint answer.
   * Change it while the proxy runs.
   */
  unreachableBuckets: Set<string>;
  close(): Promise<void>;
}

function s3Error(res: http.ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'Content-Type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
}

export async function startFlakyS3(target: string, options: FlakyS3Options): Promise<FlakyS3> {
  const upstream = new URL(target);
  const state: FlakyS3 = {
    address: '',
    requests: 0,
    faults: { slowDown: 0, internalError: 0, reset: 0, slow: 0, cutDownload: 0 },
    unreachableBuckets: new Set(),
    close: () => Promise.resolve(),
  };
  let largeDownloads = 0;

  const forward = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const out = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        const length = Number(up.headers['content-length'] ?? 0);
        const large =
          req.method === 'GET' && options.cutDownloadsOver !== undefined && length > options.cutDownloadsOver;
        const cutHere = large && (options.cutDownloads ?? []).includes(++largeDownloads);
        res.writeHead(up.statusCode ?? 502, up.headers);
        if (!cutHere) {
          up.pipe(res);
          return;
        }
        state.faults.cutDownload++;
        let sent = 0;
        up.on('data', (chunk: Buffer) => {
          if (sent + chunk.length >= length / 2) {
            up.destroy();
            res.socket?.destroy();
            return;
          }
          sent += chunk.length;
          res.write(chunk);
        });
      },
    );
    out.on('error', () => res.socket?.destroy());
    req.pipe(out);
  };

  const server = http.createServer((req, res) => {
    const bucket = /^\/([^/?]+)/.exec(req.url ?? '')?.[1];
    if (bucket && state.unreachableBuckets.has(bucket)) {
      req.socket.destroy();
      return;
    }
    if (options.denyHeadBucket && req.method === 'HEAD' && /^\/[^/?]+\/?(\?.*)?$/.test(req.url ?? '')) {
      res.writeHead(403);
      res.end();
      return;
    }
    const n = ++state.requests;
    const fault = n % options.every === 0 ? CYCLE[(n / options.every) % CYCLE.length] : undefined;
    if (!fault) return forward(req, res);
    state.faults[fault]++;
    switch (fault) {
      case 'slow':
        setTimeout(() => forward(req, res), options.slowMs ?? 1500);
        return;
      case 'reset':
        // Take a little of the body, then drop the connection (ECONNRESET at the client).
        req.once('data', () => req.socket.destroy());
        req.once('end', () => req.socket.destroy());
        return;
      case 'slowDown':
        req.resume();
        req.on('end', () => s3Error(res, 503, 'SlowDown', 'Please reduce your request rate.'));
        return;
      case 'internalError':
        req.resume();
        req.on('end', () => s3Error(res, 500, 'InternalError', 'We encountered an internal error. Please try again.'));
        return;
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  state.address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
