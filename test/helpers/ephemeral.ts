// Ephemeral drills as the tests see them from outside the worker: the throwaway servers'
// directories under a dataDir, the `bao server` processes started there, and the stack's prod
// cluster entry (its drill.ephemeral included) to put in a test's own config file.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stackEnv } from './stack';

/** The throwaway servers' directories in `dataDir` (vsnap-drill-<hex>). */
export function drillDirs(dataDir: string): string[] {
  if (!existsSync(dataDir)) return [];
  return readdirSync(dataDir).filter((name) => name.startsWith('vsnap-drill-'));
}

/** The pids of running `server` processes whose command line names `dir` (a dataDir or one server's directory). */
export function serverProcessesUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // exited while we looked
    }
    if (args.includes('server') && args.some((a) => a.includes(dir))) pids.push(Number(entry));
  }
  return pids;
}

/**
 * Whether `pid` is a running process. A killed orphan stays a zombie until init reaps it: it
 * has exited, so it counts as not running.
 */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** What a throwaway server's owner.json records. */
export interface DrillOwner {
  workerPid: number;
  workerStart: string;
  serverPid?: number;
}

export function readOwner(dataDir: string, name: string): DrillOwner | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, name, 'owner.json'), 'utf8')) as DrillOwner;
  } catch {
    return undefined; // not written yet
  }
}

/** The server's API address, from the config the worker wrote for it. */
export function serverAddress(dataDir: string, name: string): string {
  const hcl = readFileSync(join(dataDir, name, 'server.hcl'), 'utf8');
  const match = /api_addr = "([^"]+)"/.exec(hcl);
  if (!match) throw new Error(`no api_addr in ${join(dataDir, name, 'server.hcl')}`);
  return match[1];
}

/** The stack's prod cluster as its config file writes it, with `changes` (drill.ephemeral's by `ephemeral`). */
export function stackProdEntry(
  changes: Record<string, unknown> = {},
  ephemeral: Record<string, unknown> = {},
): Record<string, unknown> {
  const file = JSON.parse(readFileSync(stackEnv.VSNAP_CONFIG, 'utf8')) as { clusters: Record<string, unknown>[] };
  const prod = file.clusters.find((c) => c.name === 'prod');
  if (!prod) throw new Error(`${stackEnv.VSNAP_CONFIG} has no prod cluster`);
  const drill = prod.drill as { ephemeral: Record<string, unknown> } | undefined;
  if (!drill)
    throw new Error(`${stackEnv.VSNAP_CONFIG}: prod has no drill.ephemeral (an older stack: npm run stack:up)`);
  return { ...prod, ...changes, drill: { ephemeral: { ...drill.ephemeral, ...ephemeral } } };
}
