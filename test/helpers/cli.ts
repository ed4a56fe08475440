// Runs the real `vsnap` binary (bin/vsnap.js) as an operator would, against the stack.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, stackEnv } from './stack';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function vsnap(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'bin', 'vsnap.js'), ...args],
      { env: { ...process.env, ...stackEnv, ...env }, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
