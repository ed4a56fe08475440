// node --import tsx bench/seaweedfs-restores.ts --rounds N, under scripts/with-seaweedfs.sh (the
// bench runs it so: bench/run-under-seaweedfs.ts). Restores into drill with S3 on SeaweedFS, vsnap
// against the cron-job procedure, round by round, from the data prod holds now (the bench's moto
// rounds filled it). Each round first backs prod up into SeaweedFS both ways, untimed, so each
// method restores an object it wrote there. Prints the samples as one JSON line on stdout;
// progress goes to stderr.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import '../worker/quiet-sdk-warnings';
import { connectTemporal, type VsnapClient } from '../client/connection';
import { Baselines } from './baselines';
import { loadBenchContext, repoRoot } from './context';
import { alternate } from './rounds';
import type { SeaweedfsRestoreSamples } from './run-under-seaweedfs';
import { vsnapBackup, vsnapRestore } from './vsnap-runs';
import { startWorkerProcess } from './worker-process';

const say = (line: string) => console.error(`bench (SeaweedFS): ${line}`);

function parseRounds(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { rounds: { type: 'string', default: '1' } } });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) {
    throw new Error(`--rounds must be a whole number >= 1, got "${values.rounds}"`);
  }
  return rounds;
}

async function main(): Promise<void> {
  const rounds = parseRounds(process.argv.slice(2));
  const ctx = loadBenchContext();
  if (ctx.s3Store !== 'seaweedfs') throw new Error('run this under scripts/with-seaweedfs.sh (npm run bench does)');
  Object.assign(process.env, ctx.env);
  const baselines = new Baselines(ctx);
  const logFile = join(repoRoot, '.stack', 'bench-worker-seaweedfs.log');
  // Only S3 moves to SeaweedFS; KMS and Secrets Manager stay on the stack's moto.
  const worker = await startWorkerProcess(ctx, logFile, { AWS_ENDPOINT_URL_S3: ctx.s3Endpoint });
  let temporal: VsnapClient | undefined;
  try {
    temporal = await connectTemporal({});
    const samples: SeaweedfsRestoreSamples = { cronJobRestore: [], vsnapRestore: [], snapshotBytes: 0 };
    for (let round = 0; round < rounds; round++) {
      say(`round ${round + 1}/${rounds}: backups into SeaweedFS (cron-job, vsnap; not timed)`);
      await baselines.cronJobBackup(round);
      const backup = await vsnapBackup(temporal);
      samples.snapshotBytes = backup.size;
      say(`round ${round + 1}/${rounds}: restore into drill (cron-job, vsnap)`);
      await alternate(round, [
        async () => void samples.cronJobRestore.push(await baselines.cronJobRestore(round)),
        async () => void samples.vsnapRestore.push((await vsnapRestore(temporal!, backup.key)).seconds),
      ]);
      baselines.removeSnapshotFile(round);
    }
    process.stdout.write(`${JSON.stringify(samples)}\n`);
  } finally {
    await temporal?.close();
    await worker.stop().catch((err: unknown) => say(String(err)));
    baselines.cleanup();
  }
}

main().catch((err: unknown) => {
  say(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
