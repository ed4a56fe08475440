// The bench's modelled network (bench/modelled-network.ts) in front of a local HTTP server:
// every response waits the latency, one connection moves bytes at about the cap, two connections
// at about twice that, and requests reach the server as sent. Bounds are generous on purpose: the
// point is the model's shape, not a timing benchmark.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeThrowawayTls } from '../../activities/ephemeral/throwaway-tls';
import { type ModelledNetwork, type NetworkModel, startModelledNetwork } from '../../bench/modelled-network';

const MB = 1_000_000;

interface Upstream {
  endpoint: string;
  /** Host headers as the server received them. */
  hosts: string[];
  close(): Promise<void>;
}

/** GET /bytes/N answers N bytes; PUT /sink answers how many bytes it got; anything else "ok". */
function handle(hosts: string[]) {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    hosts.push(req.headers.host ?? '');
    const size = /^\/bytes\/(\d+)$/.exec(req.url ?? '');
    if (size) return void res.end(Buffer.alloc(Number(size[1])));
    let received = 0;
    req.on('data', (chunk: Buffer) => (received += chunk.length));
    req.on('end', () => res.end(req.url === '/sink' ? String(received) : 'ok'));
  };
}

async function listen(server: http.Server | https.Server, scheme: string, hosts: string[]): Promise<Upstream> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hosts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface Timed {
  status: number;
  body: string;
  bytes: number;
  firstByteMs: number;
  totalMs: number;
}

/** One request through `agent` (so connection reuse is the agent's), timed to first byte and to the end. */
function request(
  agent: http.Agent,
  endpoint: string,
  path: string,
  options: { method?: string; body?: Buffer; headers?: http.OutgoingHttpHeaders } = {},
): Promise<Timed> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${endpoint}${path}`,
      { agent, method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        let firstByteMs = NaN;
        let bytes = 0;
        const head: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          if (bytes === 0) firstByteMs = performance.now() - started;
          if (bytes < 100) head.push(chunk);
          bytes += chunk.length;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(head).toString().slice(0, 100),
            bytes,
            firstByteMs,
            totalMs: performance.now() - started,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const keepAlive = () => new http.Agent({ keepAlive: true, maxSockets: 1 });
const rate = (bytes: number, ms: number) => bytes / (ms / 1000);

function assertNear(actual: number, expected: number, what: string): void {
  assert.ok(
    actual >= 0.7 * expected && actual <= 1.3 * expected,
    `${what}: ${(actual / MB).toFixed(1)} MB/s, expected about ${(expected / MB).toFixed(1)}`,
  );
}

describe('the modelled network', () => {
  let upstream: Upstream;
  const networks: ModelledNetwork[] = [];
  const model = async (m: NetworkModel) => {
    const network = await startModelledNetwork(upstream.endpoint, m);
    networks.push(network);
    return network;
  };

  before(async () => {
    const hosts: string[] = [];
    upstream = await listen(http.createServer(handle(hosts)), 'http', hosts);
  });
  after(async () => {
    await Promise.all(networks.map((n) => n.close()));
    await upstream.close();
  });

  it('adds the latency to every request, on one kept-alive connection, with the Host header as sent', async () => {
    const network = await model({ latencyMs: 80, bytesPerSecondPerConnection: 1000 * MB });
    assert.deepEqual(network.model, { latencyMs: 80, bytesPerSecondPerConnection: 1000 * MB });
    const agent = keepAlive();
    upstream.hosts.length = 0;
    for (let i = 0; i < 3; i++) {
      const r = await request(agent, network.endpoint, `/ping-${i}`);
      assert.equal(r.body, 'ok');
      assert.ok(r.firstByteMs >= 78 && r.totalMs < 80 + 400, `request ${i}: ${r.firstByteMs.toFixed(0)} ms`);
    }
    agent.destroy();
    assert.equal(network.traffic().requests, 3);
    assert.equal(network.traffic().connections, 1, 'the three requests reused one connection');
    const proxyHost = new URL(network.endpoint).host;
    assert.deepEqual(upstream.hosts, [proxyHost, proxyHost, proxyHost], 'what a SigV4 client signed for');
  });

  it('waits the latency before a 100 Continue too, then forwards the body', async () => {
    const network = await model({ latencyMs: 80, bytesPerSecondPerConnection: 1000 * MB });
    const agent = keepAlive();
    const started = performance.now();
    let continuedMs = NaN;
    const answer = await new Promise<string>((resolve, reject) => {
      const req = http.request(`${network.endpoint}/sink`, {
        agent,
        method: 'PUT',
        headers: { Expect: '100-continue', 'Content-Length': 1000 },
      });
      req.on('continue', () => {
        continuedMs = performance.now() - started;
        req.end(Buffer.alloc(1000));
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    agent.destroy();
    assert.equal(answer, '1000');
    assert.ok(continuedMs >= 78, `100 Continue after ${continuedMs.toFixed(0)} ms`);
    assert.ok(performance.now() - started >= 2 * 78, 'and the final answer after another latency');
  });

  it('caps one connection near the configured rate, each way, streaming as it goes', async () => {
    const cap = 16 * MB;
    const network = await model({ latencyMs: 0, bytesPerSecondPerConnection: cap });
    const agent = keepAlive();
    const down = await request(agent, network.endpoint, `/bytes/${8 * MB}`);
    assert.equal(down.bytes, 8 * MB);
    assertNear(rate(down.bytes, down.totalMs), cap, 'download');
    assert.ok(down.firstByteMs < down.totalMs / 4, 'the body streams: the first bytes come long before the last');

    const up = await request(agent, network.endpoint, '/sink', { method: 'PUT', body: Buffer.alloc(8 * MB) });
    assert.equal(up.body, String(8 * MB));
    assertNear(rate(8 * MB, up.totalMs), cap, 'upload');
    agent.destroy();
    assert.equal(network.traffic().connections, 1);
    assert.deepEqual(
      { toS3: network.traffic().bytesToS3, fromS3: network.traffic().bytesFromS3 },
      { toS3: 8 * MB, fromS3: 8 * MB + up.body.length },
    );
  });

  it('gives two connections about twice the throughput of one', async () => {
    const cap = 16 * MB;
    const network = await model({ latencyMs: 0, bytesPerSecondPerConnection: cap });
    const agents = [keepAlive(), keepAlive()];
    const started = performance.now();
    const downs = await Promise.all(agents.map((a) => request(a, network.endpoint, `/bytes/${8 * MB}`)));
    const elapsed = performance.now() - started;
    agents.forEach((a) => a.destroy());
    assert.deepEqual(
      downs.map((d) => d.bytes),
      [8 * MB, 8 * MB],
    );
    assert.equal(network.traffic().connections, 2);
    assertNear(rate(16 * MB, elapsed), 2 * cap, 'two connections together');
  });

  it('forwards to an HTTPS endpoint, trusting the CA it is given', async () => {
    const tls = makeThrowawayTls();
    const hosts: string[] = [];
    const secure = await listen(
      https.createServer({ cert: tls.certPem, key: tls.keyPem }, handle(hosts)),
      'https',
      hosts,
    );
    const dir = mkdtempSync(join(tmpdir(), 'vsnap-modelled-network-'));
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, tls.caPem);
    const network = await startModelledNetwork(
      secure.endpoint,
      { latencyMs: 0, bytesPerSecondPerConnection: 1000 * MB },
      { caFile },
    );
    try {
      const agent = keepAlive();
      const r = await request(agent, network.endpoint, '/ping');
      agent.destroy();
      assert.equal(r.status, 200);
      assert.equal(r.body, 'ok');
    } finally {
      await network.close();
      await secure.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
