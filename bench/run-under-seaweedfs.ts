// The bench's SeaweedFS step, from the bench's side: runs bench/seaweedfs-restores.ts as a child
// under scripts/with-seaweedfs.sh, the one place that starts and stops `weed mini`, and reads the
// child's samples from its stdout. The child's progress lines pass through on stderr.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './context';

/** What bench/seaweedfs-restores.ts prints: one JSON line, seconds per restore into drill. */
export interface SeaweedfsRestoreSamples {
  /** The cron-job procedure: `aws s3 cp` from SeaweedFS, then `bao operator raft snapshot restore -force`. */
  cronJobRestore: number[];
  vsnapRestore: number[];
  /** Of the last vsnap backup restored. */
  snapshotBytes: number;
}

/** How long to wait for a SeaweedFS that another run holds, and how often to try. */
const BUSY_WAIT_MS = 10 * 60_000;
const BUSY_RETRY_MS = 30_000;

/** with-seaweedfs.sh's message when its port is taken (exit 2): another SeaweedFS run, which ends on its own. */
const PORT_BUSY = /something already listens on/;

interface ChildRun {
  code: number;
  stdout: string;
  stderrTail: string;
}

function runChild(rounds: number): Promise<ChildRun> {
  const command = [process.execPath, '--import', 'tsx', join(repoRoot, 'bench', 'seaweedfs-restores.ts')];
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(repoRoot, 'scripts', 'with-seaweedfs.sh'), ...command, '--rounds', `${rounds}`], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderrTail = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      process.stderr.write(c);
      stderrTail = (stderrTail + c.toString()).slice(-4000);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code: code ?? (signal ? 128 : -1), stdout, stderrTail }));
  });
}

function parseSamples(stdout: string): SeaweedfsRestoreSamples {
  const last = stdout.trim().split('\n').at(-1) ?? '';
  let parsed: Partial<SeaweedfsRestoreSamples>;
  try {
    parsed = JSON.parse(last) as Partial<SeaweedfsRestoreSamples>;
  } catch {
    throw new Error(`bench/seaweedfs-restores.ts printed no JSON samples; its stdout ended: ${last.slice(-400)}`);
  }
  const { cronJobRestore, vsnapRestore, snapshotBytes } = parsed;
  if (!Array.isArray(cronJobRestore) || !Array.isArray(vsnapRestore) || typeof snapshotBytes !== 'number') {
    throw new Error(`bench/seaweedfs-restores.ts printed unexpected samples: ${last.slice(0, 400)}`);
  }
  return { cronJobRestore, vsnapRestore, snapshotBytes };
}

/**
 * Restores into drill with S3 on SeaweedFS, vsnap against the cron-job procedure, `rounds` of
 * each, with the data prod holds now. No bench worker may be polling the bench's task queue
 * meanwhile: the child runs its own, pointed at SeaweedFS.
 */
export async function measureRestoresOnSeaweedfs(input: {
  rounds: number;
  say: (line: string) => void;
}): Promise<SeaweedfsRestoreSamples> {
  const deadline = Date.now() + BUSY_WAIT_MS;
  for (;;) {
    const run = await runChild(input.rounds);
    if (run.code === 0) return parseSamples(run.stdout);
    if (run.code === 2 && PORT_BUSY.test(run.stderrTail) && Date.now() + BUSY_RETRY_MS < deadline) {
      input.say(`SeaweedFS's port is taken (another SeaweedFS run); trying again in ${BUSY_RETRY_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, BUSY_RETRY_MS));
      continue;
    }
    throw new Error(`the SeaweedFS restores exited ${run.code}; the last of their output:\n${run.stderrTail.trim()}`);
  }
}
