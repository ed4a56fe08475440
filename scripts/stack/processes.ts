// Background server processes with a pid file and a log file each, so `up` is idempotent
// and `down` finds what `up` started even from another shell.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ServerProcess {
  name: string;
  dir: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

function pidFile(proc: Pick<ServerProcess, 'dir'>): string {
  return join(proc.dir, 'server.pid');
}

export function logFile(proc: Pick<ServerProcess, 'dir'>): string {
  return join(proc.dir, 'server.log');
}

export function runningPid(proc: Pick<ServerProcess, 'dir'>): number | undefined {
  const file = pidFile(proc);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

export function startProcess(proc: ServerProcess): number {
  mkdirSync(proc.dir, { recursive: true });
  const log = openSync(logFile(proc), 'a');
  const child = spawn(proc.command, proc.args, {
    cwd: proc.dir,
    env: { ...process.env, ...proc.env },
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  if (child.pid === undefined) throw new Error(`${proc.name}: could not start ${proc.command}`);
  child.unref();
  writeFileSync(pidFile(proc), String(child.pid));
  return child.pid;
}

export async function stopProcess(proc: Pick<ServerProcess, 'dir' | 'name'>): Promise<boolean> {
  const pid = runningPid(proc);
  rmSync(pidFile(proc), { force: true });
  if (pid === undefined) return false;
  // Negative pid: the whole process group, so wrappers (the PyPI shims) take their child along.
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      /* already gone */
    }
  };
  signalGroup('SIGTERM');
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  signalGroup('SIGKILL');
  return true;
}

/** Polls `check` until it resolves true, or fails naming the service and where its log is. */
export async function waitUntil(
  service: string,
  check: () => Promise<boolean>,
  options: { timeoutMs: number; log?: string },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const where = options.log ? `; see ${options.log}` : '';
  const why = lastError ? ` (last error: ${lastError})` : '';
  throw new Error(`${service} did not become healthy within ${options.timeoutMs / 1000}s${why}${where}`);
}
