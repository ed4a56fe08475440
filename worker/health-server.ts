// /healthz (the process is up) and /readyz (the worker is polling Temporal) for Kubernetes
// probes. Readiness drops as soon as shutdown starts, so no new traffic is routed to a pod
// that is draining.
import http from 'node:http';

export function startHealthServer(address: string, isReady: () => boolean): Promise<http.Server> {
  const separator = address.lastIndexOf(':');
  const host = address.slice(0, separator).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(separator + 1));
  const server = http.createServer((req, res) => {
    const ok = req.url === '/healthz' ? true : req.url === '/readyz' ? isReady() : undefined;
    if (ok === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain' }).end(ok ? 'ok\n' : 'not ready\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
