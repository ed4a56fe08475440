// A TCP load balancer in front of prod's nodes, as an AWS NLB with TCP listeners sits in
// front of Vault pods: TLS passes through untouched, and each new connection goes to the next
// healthy node in turn, active and standbys alike. A node is healthy while
// GET /v1/sys/health?standbyok=true answers 200 (checked every second), the HTTPS health
// check vault-helm's docs give a target group: a sealed or dead node drops out. A connection
// to a node that dies is cut, as the NLB cuts it; nothing is retried for the client.
//
// Run: LB_CA_FILE=ca.pem LB_TLS_NAME=prod.vsnap.internal \
//      node --import tsx scripts/stack/load-balancer.ts <listen host:port> <target host:port>...
import { readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';

interface Target {
  host: string;
  port: number;
  healthy: boolean;
}

function hostPort(text: string): { host: string; port: number } {
  const match = /^(.+):(\d+)$/.exec(text);
  if (!match) throw new Error(`${text} is not host:port`);
  return { host: match[1], port: Number(match[2]) };
}

const [listen, ...targetArgs] = process.argv.slice(2);
if (!listen || targetArgs.length === 0) {
  console.error('usage: load-balancer.ts <listen host:port> <target host:port>...');
  process.exit(2);
}
const targets: Target[] = targetArgs.map((t) => ({ ...hostPort(t), healthy: true }));
let next = 0;

const ca = process.env.LB_CA_FILE ? readFileSync(process.env.LB_CA_FILE, 'utf8') : undefined;
const servername = process.env.LB_TLS_NAME;

function checkHealth(target: Target): void {
  const probe = https.get({
    host: target.host,
    port: target.port,
    path: '/v1/sys/health?standbyok=true&perfstandbyok=true',
    ...(ca ? { ca } : {}),
    ...(servername ? { servername } : {}),
    timeout: 900,
    agent: false,
  });
  const verdict = (healthy: boolean) => {
    if (target.healthy !== healthy) console.log(`${target.host}:${target.port} ${healthy ? 'healthy' : 'unhealthy'}`);
    target.healthy = healthy;
    probe.destroy();
  };
  probe.once('response', (res) => {
    res.resume();
    verdict(res.statusCode === 200);
  });
  probe.once('error', () => verdict(false));
  probe.once('timeout', () => verdict(false));
}

function pickTarget(): Target | undefined {
  for (let i = 0; i < targets.length; i++) {
    const target = targets[(next + i) % targets.length];
    if (target.healthy) {
      next = (next + i + 1) % targets.length;
      return target;
    }
  }
  return undefined;
}

const server = net.createServer((client) => {
  const target = pickTarget();
  if (!target) {
    client.destroy();
    return;
  }
  const upstream = net.connect({ host: target.host, port: target.port });
  const cut = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', cut);
  upstream.on('error', cut);
  client.on('close', cut);
  upstream.on('close', cut);
  client.pipe(upstream);
  upstream.pipe(client);
});

setInterval(() => targets.forEach(checkHealth), 1000).unref();
const { host, port } = hostPort(listen);
server.listen(port, host, () => console.log(`listening on ${listen}, targets ${targetArgs.join(' ')}`));
process.on('SIGTERM', () => process.exit(0));
