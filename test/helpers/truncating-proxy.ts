// An HTTP proxy in front of a Vault that forwards everything, except that the Raft snapshot
// response ends cleanly after `limitBytes`: what a standby or a dying leader can produce.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TruncatingProxy {
  address: string;
  snapshotRequests: number;
  close(): Promise<void>;
}

export async function startTruncatingProxy(target: string, limitBytes: number): Promise<TruncatingProxy> {
  const upstream = new URL(target);
  const state = { snapshotRequests: 0 };
  const server = http.createServer((req, res) => {
    const isSnapshot = req.method === 'GET' && req.url === '/v1/sys/storage/raft/snapshot';
    if (isSnapshot) state.snapshotRequests++;
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
      (up) => {
        const headers = { ...up.headers };
        if (isSnapshot) delete headers['content-length'];
        res.writeHead(up.statusCode ?? 502, headers);
        if (!isSnapshot) {
          up.pipe(res);
          return;
        }
        let sent = 0;
        up.on('data', (chunk: Buffer) => {
          if (sent >= limitBytes) return;
          const part = chunk.subarray(0, limitBytes - sent);
          sent += part.length;
          res.write(part);
          if (sent >= limitBytes) {
            res.end();
            up.destroy();
          }
        });
        up.on('end', () => res.end());
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `http://127.0.0.1:${port}`,
    get snapshotRequests() {
      return state.snapshotRequests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
