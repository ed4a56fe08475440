// The worker as a separate process, as Kubernetes runs it: for tests that signal or kill it,
// or read its memory.
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { procStatusMiB } from '../../bench/worker-process';
import { repoRoot, stackEnv } from './stack';

export interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number>;
}

export function startWorkerProcess(env: NodeJS.ProcessEnv): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'worker', 'main.ts')], {
    cwd: repoRoot,
    env: { ...process.env, ...stackEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  return { child, output: () => output, exited };
}

/** Polls `check` until it holds; a failed check counts as "not yet". */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not happen within ${timeoutMs / 1000}s`);
}

export function workerStarted(w: WorkerProcess): Promise<void> {
  return until('the worker started', () => Promise.resolve(w.output().includes('vsnap worker started')));
}

/** Resident memory of a process now, MiB (VmRSS). */
export function rssMiB(pid: number): number {
  return procStatusMiB(pid, 'VmRSS');
}

/**
 * Bundles the workflows once, as the image does (with the failure converter), into `dir`;
 * returns the path for VSNAP_WORKFLOW_BUNDLE. Saves each worker process webpack's time and memory.
 * `workflowsPath` bundles other workflow code (a test's pretend next release) instead.
 */
export async function writeWorkflowBundle(
  dir: string,
  workflowsPath = require.resolve('../../workflows'),
): Promise<string> {
  const bundle = await bundleWorkflowCode({
    workflowsPath,
    failureConverterPath: require.resolve('../../worker/encryption/failure-converter'),
  });
  const path = join(dir, 'workflow-bundle.js');
  writeFileSync(path, bundle.code);
  return path;
}
