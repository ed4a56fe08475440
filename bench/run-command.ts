// Runs one external command (curl, bao, aws) to completion; a failure names the command and
// shows its stderr, so a broken baseline never turns into a fast-looking number.
import { spawn } from 'node:child_process';

export function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.slice(0, 4).join(' ')} … exited ${code}: ${stderr.trim().slice(-400)}`));
    });
  });
}

/** Seconds `work` took. */
export async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
}
