// The worker as production runs it (compiled JS, pre-built workflow bundle: `npm run build`),
// as a child process whose memory the bench can read. Peak RSS comes from the kernel: writing
// "5" to /proc/PID/clear_refs resets VmHWM, so each measured run gets its own exact peak.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from './context';
import { repoRoot } from './context';

export const BENCH_TASK_QUEUE = 'vsnap-bench';

/**
 * The memory settings the container image runs the worker with (deploy/Dockerfile's ENV; a
 * deploy test keeps the two equal). One malloc arena stops zlib and TLS work on libuv's thread
 * pool from spreading freed memory over per-thread arenas that are never returned; a 2 MiB
 * young generation keeps V8 from holding 16 MiB semi-spaces per isolate (main + workflow
 * thread). Together: about 30 MiB less idle and 50 MiB less peak RSS (bench/README.md).
 */
export const PRODUCTION_RUNTIME_ENV = { MALLOC_ARENA_MAX: '1', NODE_OPTIONS: '--max-semi-space-size=2' };

export interface WorkerProcess {
  child: ChildProcess;
  /** Resident memory now, MiB. */
  rssMiB(): number;
  /** Starts a new peak-measurement window. */
  resetPeak(): void;
  /** Highest resident memory since the last resetPeak (or the start), MiB. */
  peakRssMiB(): number;
  /** CPU the worker process has used so far, user + system, every thread counted, seconds. */
  cpuSeconds(): number;
  /** Stops the worker; calling it again waits for the same stop. */
  stop(): Promise<void>;
}

/** A memory figure of a process from /proc/PID/status, MiB (VmRSS now, VmHWM the peak). */
export function procStatusMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(match[1]) / 1024;
}

/** Clock ticks per second of /proc/PID/stat's times (USER_HZ: 100 on every Linux this runs on). */
const CLOCK_TICKS = 100;

/** utime + stime of a process from /proc/PID/stat, seconds (all its threads: zlib and GC helpers too). */
export function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** `env` is laid over the stack's: another S3 endpoint, upload concurrency, part size. */
export async function startWorkerProcess(
  ctx: BenchContext,
  logFile: string,
  env: Record<string, string> = {},
): Promise<WorkerProcess> {
  const main = join(repoRoot, 'dist', 'worker', 'main.js');
  const bundle = join(repoRoot, 'dist', 'workflow-bundle.js');
  if (!existsSync(main) || !existsSync(bundle)) throw new Error('dist/ is missing: run "npm run build" first');
  const child = spawn(process.execPath, [main], {
    cwd: repoRoot,
    env: {
      ...process.env,
      ...ctx.env,
      VSNAP_CONFIG: ctx.configFile,
      VSNAP_TASK_QUEUE: BENCH_TASK_QUEUE,
      VSNAP_WORKFLOW_BUNDLE: bundle,
      LOG_LEVEL: 'info',
      NODE_ENV: 'production',
      ...PRODUCTION_RUNTIME_ENV,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(logFile);
  let output = '';
  const onData = (c: Buffer) => {
    log.write(c);
    if (output.length < 1_000_000) output += c.toString();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  const deadline = Date.now() + 60_000;
  while (!output.includes('"vsnap worker started"')) {
    if (child.exitCode !== null) throw new Error(`the bench worker exited (${child.exitCode}); see ${logFile}`);
    if (Date.now() > deadline) throw new Error(`the bench worker did not start within 60 s; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = child.pid!;
  let stopped: Promise<void> | undefined;
  return {
    child,
    rssMiB: () => procStatusMiB(pid, 'VmRSS'),
    resetPeak: () => writeFileSync(`/proc/${pid}/clear_refs`, '5'),
    peakRssMiB: () => procStatusMiB(pid, 'VmHWM'),
    cpuSeconds: () => procCpuSeconds(pid),
    stop() {
      stopped ??= (async () => {
        child.kill('SIGTERM');
        const code = await exited;
        log.end();
        if (code !== 0) throw new Error(`the bench worker exited ${code} on SIGTERM; see ${logFile}`);
      })();
      return stopped;
    },
  };
}
