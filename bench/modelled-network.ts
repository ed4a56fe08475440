// A modelled network between an S3 client (the worker, the aws cli) and an S3 endpoint: an HTTP
// proxy that holds each response back for a latency to first byte and caps each client
// connection's throughput, as S3 behaves from EC2 in the same region (bench/README.md, "The
// modelled network"). Requests go upstream with their headers as sent, Host included, so a
// SigV4 signature made for the proxy's address stays valid. Bodies stream through with
// backpressure, never held whole: snapshots are GiBs.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { type AddressInfo, isIP, type Socket } from 'node:net';
import { pipeline, Transform } from 'node:stream';

export interface NetworkModel {
  /** Added before each response a client waits for, the interim `100 Continue` included (ms). */
  latencyMs: number;
  /** The most one client connection carries, in each direction on its own (bytes per second). */
  bytesPerSecondPerConnection: number;
}

/** S3 Standard from EC2 in the same region; the sources for both figures are in bench/README.md. */
export const DEFAULT_NETWORK_MODEL: NetworkModel = { latencyMs: 30, bytesPerSecondPerConnection: 80_000_000 };

/** What went through the proxy so far (body bytes only). */
export interface NetworkTraffic {
  connections: number;
  requests: number;
  bytesToS3: number;
  bytesFromS3: number;
}

export interface ModelledNetwork {
  /** http://127.0.0.1:PORT: the S3 endpoint to give clients instead of the real one. */
  endpoint: string;
  /** The model this proxy runs with. */
  model: NetworkModel;
  traffic(): NetworkTraffic;
  close(): Promise<void>;
}

/**
 * How far behind its schedule a busy connection may catch up at once. Late timers (a busy event
 * loop) are made up, so the cap is reached rather than undershot; an idle connection saves up
 * nothing beyond this, so a new response cannot burst above the cap either.
 */
const CATCH_UP_MS = 20;

/**
 * One direction of one connection: a token bucket that holds no tokens in reserve. Each chunk is
 * scheduled after the previous one's transmission time at the capped rate.
 */
export class ConnectionThroughputCap {
  private nextFreeAt = 0;

  constructor(private readonly bytesPerSecond: number) {}

  /** How long to hold `bytes` before passing them on (ms); books their transmission time. */
  delayFor(bytes: number): number {
    const now = performance.now();
    const start = this.nextFreeAt >= now - CATCH_UP_MS ? this.nextFreeAt : now;
    this.nextFreeAt = start + (bytes / this.bytesPerSecond) * 1000;
    return Math.max(0, start - now);
  }
}

function capped(cap: ConnectionThroughputCap, count: (bytes: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      count(chunk.length);
      const wait = cap.delayFor(chunk.length);
      // Under a millisecond a timer cannot wait anyway; the cap has booked the time regardless.
      if (wait < 1) done(null, chunk);
      else setTimeout(() => done(null, chunk), wait);
    },
  });
}

/** Headers that describe the upstream connection, not the response: the client's connection has its own. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade']);

function responseHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));
}

export async function startModelledNetwork(
  s3Endpoint: string,
  model: NetworkModel = DEFAULT_NETWORK_MODEL,
  options: {
    caFile?: string;
    /** The port to listen on (default: any free one). */
    port?: number;
  } = {},
): Promise<ModelledNetwork> {
  const upstream = new URL(s3Endpoint);
  const secure = upstream.protocol === 'https:';
  const ca = options.caFile ? readFileSync(options.caFile) : undefined;
  const agent = secure ? new https.Agent({ keepAlive: true, ca }) : new http.Agent({ keepAlive: true });
  // The forwarded Host header names the proxy; TLS must name (and check) the real endpoint.
  const tlsName = secure ? { servername: isIP(upstream.hostname) ? '' : upstream.hostname } : {};
  const send = secure ? https.request : http.request;
  const traffic: NetworkTraffic = { connections: 0, requests: 0, bytesToS3: 0, bytesFromS3: 0 };
  const caps = new WeakMap<Socket, { toS3: ConnectionThroughputCap; fromS3: ConnectionThroughputCap }>();

  const forward = (req: http.IncomingMessage, res: http.ServerResponse) => {
    traffic.requests++;
    const cap = caps.get(req.socket)!;
    const out = send(
      {
        agent,
        host: upstream.hostname,
        port: upstream.port || (secure ? 443 : 80),
        method: req.method,
        path: req.url,
        headers: req.headers,
        ...tlsName,
      },
      (answer) => {
        setTimeout(() => {
          res.writeHead(answer.statusCode ?? 502, answer.statusMessage, responseHeaders(answer.headers));
          pipeline(
            answer,
            capped(cap.fromS3, (n) => (traffic.bytesFromS3 += n)),
            res,
            () => undefined,
          );
        }, model.latencyMs);
      },
    );
    out.on('error', (err) => {
      if (res.headersSent) res.destroy();
      else res.writeHead(502, { 'Content-Type': 'text/plain' }).end(`modelled network: ${err.message}`);
    });
    pipeline(
      req,
      capped(cap.toS3, (n) => (traffic.bytesToS3 += n)),
      out,
      (err) => {
        if (err) out.destroy();
      },
    );
  };

  const server = http.createServer({ requestTimeout: 0 }, forward);
  // Idle keep-alive sockets outlive the clients' own idle timeouts, so a client never reuses one
  // this side has just closed.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('connection', (socket: Socket) => {
    traffic.connections++;
    const rate = model.bytesPerSecondPerConnection;
    caps.set(socket, { toS3: new ConnectionThroughputCap(rate), fromS3: new ConnectionThroughputCap(rate) });
  });
  // A client that sends `Expect: 100-continue` (both the SDK and the aws cli, for parts) holds the
  // body until S3 answers, so that answer pays the latency too.
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    setTimeout(() => {
      res.writeContinue();
      forward(req, res);
    }, model.latencyMs);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    model: { ...model },
    traffic: () => ({ ...traffic }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
}
