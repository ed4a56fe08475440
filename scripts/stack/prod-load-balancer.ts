// prod's load balancer as a stack process: scripts/stack/load-balancer.ts on prod's address,
// over its three nodes, health-checked with the stack's CA.
import { join } from 'node:path';
import { baoNodes, caDir, ports, repoRoot, tlsServerName } from './layout';
import { baoAddress, baoDir, stackVault } from './openbao';
import { logFile, runningPid, type ServerProcess, startProcess, waitUntil } from './processes';

/** prod's load balancer (scripts/stack/load-balancer.ts) on prod's address, over its three nodes. */
export const prodLoadBalancerProcess: ServerProcess = {
  name: 'prod-load-balancer',
  dir: join(baoDir('prod'), 'load-balancer'),
  command: process.execPath,
  args: [
    '--import',
    'tsx',
    join(repoRoot, 'scripts', 'stack', 'load-balancer.ts'),
    `127.0.0.1:${ports.prod}`,
    ...baoNodes('prod').map((n) => `127.0.0.1:${n.port}`),
  ],
  env: { LB_CA_FILE: join(caDir, 'ca.pem'), LB_TLS_NAME: tlsServerName('prod') },
};

export async function ensureProdLoadBalancer(): Promise<void> {
  if (runningPid(prodLoadBalancerProcess) === undefined) {
    startProcess(prodLoadBalancerProcess);
  }
  const vault = stackVault('prod', baoAddress('prod'), 5_000);
  await waitUntil(`prod's load balancer (${vault.address})`, async () => (await vault.health(), true), {
    timeoutMs: 30_000,
    log: logFile(prodLoadBalancerProcess),
  });
}
