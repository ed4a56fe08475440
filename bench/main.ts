// npm run bench [-- --size 512 --rounds 3 --small 128 --large 1024 --quick --keep-data --no-network --no-seaweedfs --out DIR]
// Measures vsnap's backup and restore against Vault's own limit and the two-pass cron-job
// procedure vsnap replaces, alternating the methods round by round; then the backup against
// `aws s3 cp` on a modelled network like S3's (latency, a cap per connection), with a sweep of
// upload concurrency and part size; then the restores again with S3 on SeaweedFS (a store that
// is not a mock of AWS); then the worker's peak memory at two sizes and the fixed cost of a
// near-empty backup.
// Prints a table; writes JSON to bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import '../worker/quiet-sdk-warnings';
import { connectTemporal, type VsnapClient } from '../client/connection';
import { SnapshotStore } from '../activities/storage/snapshot-store';
import { Baselines } from './baselines';
import { type BenchContext, benchVault, loadBenchContext, repoRoot } from './context';
import { BLOB_BYTES, fillTo, type VaultTarget } from './fill';
import { measureOnModelledNetwork, type ModelledNetworkSamples } from './modelled-network-runs';
import { buildResult, formatTable, median, type MemoryFigures, type Samples } from './report';
import { alternate } from './rounds';
import { runCommand } from './run-command';
import { measureRestoresOnSeaweedfs, type SeaweedfsRestoreSamples } from './run-under-seaweedfs';
import { vsnapBackup, vsnapRestore } from './vsnap-runs';
import { startWorkerProcess } from './worker-process';

interface Options {
  sizeMiB: number;
  rounds: number;
  smallMiB: number;
  largeMiB: number;
  out: string;
  keepData: boolean;
  build: boolean;
  /** Measure on the modelled network too (not with --quick). */
  network: boolean;
  /** Measure the restores with S3 on SeaweedFS too (not with --quick). */
  seaweedfs: boolean;
}

const USAGE = `usage: npm run bench -- [--size MiB] [--rounds N] [--small MiB] [--large MiB] [--quick] [--keep-data] [--no-build] [--no-network] [--no-seaweedfs] [--out DIR]
  --size       KV data in prod for the timed rounds (default 512)
  --rounds     rounds of each measurement, medians reported (default 3, at least 1)
  --small/--large  sizes for the worker memory figures (default 128 and 1024)
  --quick      a smoke run: --size 32 --rounds 1 --small 16 --large 64, no modelled network, no SeaweedFS
  --keep-data  leave the bench data in prod for the next run (default: remove it)
  --no-network skip the backups on the modelled network (bench/modelled-network.ts) and its sweep
  --no-seaweedfs  skip the restores with S3 on SeaweedFS (bench/seaweedfs-restores.ts)
  --no-build   use the existing dist/ (default: npm run build first)
  --out        where the JSON result goes (default bench/results)`;

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      size: { type: 'string' },
      rounds: { type: 'string' },
      small: { type: 'string' },
      large: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'keep-data': { type: 'boolean', default: false },
      'no-build': { type: 'boolean', default: false },
      'no-network': { type: 'boolean', default: false },
      'no-seaweedfs': { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const defaults = values.quick
    ? { size: 32, rounds: 1, small: 16, large: 64 }
    : { size: 512, rounds: 3, small: 128, large: 1024 };
  const positive = (name: string, raw: string | undefined, fallback: number) => {
    const n = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number >= 1, got "${raw}"\n${USAGE}`);
    return n;
  };
  const options: Options = {
    sizeMiB: positive('size', values.size, defaults.size),
    rounds: positive('rounds', values.rounds, defaults.rounds),
    smallMiB: positive('small', values.small, defaults.small),
    largeMiB: positive('large', values.large, defaults.large),
    out: values.out ?? join(repoRoot, 'bench', 'results'),
    keepData: values['keep-data'],
    build: !values['no-build'],
    network: !values.quick && !values['no-network'],
    seaweedfs: !values.quick && !values['no-seaweedfs'],
  };
  if (options.largeMiB <= options.smallMiB) throw new Error(`--large must be more than --small\n${USAGE}`);
  return options;
}

const say = (line: string) => console.log(`bench: ${line}`);

async function removeBenchObjects(s3: S3Client, ctx: BenchContext): Promise<void> {
  const store = new SnapshotStore(s3);
  await store.abortUploads(ctx.bucket, `${ctx.prefix}/`, { olderThan: new Date(Date.now() + 60_000) });
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: ctx.bucket, Prefix: `${ctx.prefix}/`, ContinuationToken: token }),
    );
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length > 0) await s3.send(new DeleteObjectsCommand({ Bucket: ctx.bucket, Delete: { Objects: keys } }));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const ctx = loadBenchContext();
  Object.assign(process.env, ctx.env);
  const prod: VaultTarget = { vault: benchVault(ctx.prod), token: ctx.prodRootToken };
  const s3 = new S3Client({ forcePathStyle: true });
  const baselines = new Baselines(ctx);
  const fills: { seconds: number; written: number }[] = [];
  const fill = async (mib: number) => {
    const r = await fillTo(prod, mib * 2 ** 20);
    fills.push({ seconds: Number(r.seconds.toFixed(1)), written: r.written });
    say(
      `prod holds ${mib} MiB of bench data (wrote ${r.written} blobs, destroyed ${r.destroyed}, ${r.seconds.toFixed(1)} s)`,
    );
  };
  if (options.build) {
    say('building the worker as the image does (npm run build)');
    await runCommand('npm', ['run', 'build']);
  }
  const logFile = join(repoRoot, '.stack', 'bench-worker.log');
  let worker = await startWorkerProcess(ctx, logFile);
  let temporal: VsnapClient | undefined;
  try {
    temporal = await connectTemporal({});

    say('overhead: near-empty cluster');
    await fill(0);
    const empty = { vsnap: [] as number[], raw: [] as number[], bytes: 0 };
    await vsnapBackup(temporal); // first run warms the worker's connections and caches
    for (let round = 0; round < Math.max(3, options.rounds); round++) {
      await alternate(round, [
        async () => {
          const b = await vsnapBackup(temporal!);
          empty.vsnap.push(b.seconds);
          empty.bytes = b.size;
        },
        async () => void empty.raw.push(await baselines.rawPipelineBackup(s3)),
      ]);
    }

    await fill(options.sizeMiB);
    const samples: Samples = {
      backup: { limit: [], cronJob: [], vsnap: [] },
      restore: { limit: [], cronJob: [], vsnap: [] },
      restoreSteps: [],
      cronJobPasses: { save: [], upload: [] },
      workerCpuPerGiB: { backup: [], restore: [] },
    };
    /** Runs a vsnap run on the worker and records the worker's CPU per GiB of `bytes()`. */
    const withWorkerCpu = async <T>(into: number[], run: () => Promise<T>, bytes: (r: T) => number): Promise<T> => {
      const before = worker.cpuSeconds();
      const result = await run();
      into.push((worker.cpuSeconds() - before) / (bytes(result) / 2 ** 30));
      return result;
    };
    let snapshotBytes = 0;
    for (let round = 0; round < options.rounds; round++) {
      say(`round ${round + 1}/${options.rounds}: backup (limit, cron-job, vsnap)`);
      let key = '';
      await alternate(round, [
        async () => void samples.backup.limit.push(await baselines.limitBackup()),
        async () => {
          const cronJob = await baselines.cronJobBackup(round);
          samples.backup.cronJob.push(cronJob.seconds);
          samples.cronJobPasses.save.push(cronJob.saveSeconds);
          samples.cronJobPasses.upload.push(cronJob.uploadSeconds);
        },
        async () => {
          const b = await withWorkerCpu(
            samples.workerCpuPerGiB.backup,
            () => vsnapBackup(temporal!),
            (r) => r.size,
          );
          samples.backup.vsnap.push(b.seconds);
          key = b.key;
          snapshotBytes = b.size;
        },
      ]);
      say(`round ${round + 1}/${options.rounds}: restore into drill (limit, cron-job, vsnap)`);
      await alternate(round, [
        async () => void samples.restore.limit.push(await baselines.rawRestore(round)),
        async () => void samples.restore.cronJob.push(await baselines.cronJobRestore(round)),
        async () => {
          const r = await withWorkerCpu(
            samples.workerCpuPerGiB.restore,
            () => vsnapRestore(temporal!, key),
            () => snapshotBytes,
          );
          samples.restore.vsnap.push(r.seconds);
          samples.restoreSteps.push(r.steps);
        },
      ]);
      baselines.removeSnapshotFile(round);
    }

    let network: ModelledNetworkSamples | undefined;
    if (options.network) {
      say('modelled network: the same data, S3 through a proxy with latency and a cap per connection');
      await worker.stop();
      network = await measureOnModelledNetwork({
        ctx,
        temporal,
        baselines,
        rounds: options.rounds,
        logFile: join(repoRoot, '.stack', 'bench-worker-network.log'),
        say,
      });
    }

    let seaweedfs: SeaweedfsRestoreSamples | undefined;
    if (options.seaweedfs && ctx.s3Store === 'seaweedfs') {
      say('SeaweedFS: skipped, the whole bench already runs with S3 on SeaweedFS');
    } else if (options.seaweedfs) {
      say('SeaweedFS: the same data, restores with S3 on SeaweedFS (scripts/with-seaweedfs.sh)');
      // Its own worker takes the bench's task queue: this one must not pick up its workflows.
      await worker.stop();
      seaweedfs = await measureRestoresOnSeaweedfs({ rounds: options.rounds, say });
    }

    say('memory: a fresh worker, peak RSS per run at two sizes');
    await worker.stop();
    worker = await startWorkerProcess(ctx, logFile);
    const idleRssMiB = worker.rssMiB();
    const measure = async (sizeMiB: number) => {
      await fill(sizeMiB);
      worker.resetPeak();
      const b = await vsnapBackup(temporal!);
      const backupPeakMiB = worker.peakRssMiB();
      worker.resetPeak();
      await vsnapRestore(temporal!, b.key);
      const restorePeakMiB = worker.peakRssMiB();
      say(
        `  ${sizeMiB} MiB: backup peak ${backupPeakMiB.toFixed(0)} MiB, restore peak ${restorePeakMiB.toFixed(0)} MiB`,
      );
      return { sizeMiB, snapshotBytes: b.size, backupPeakMiB, restorePeakMiB };
    };
    const memory: MemoryFigures = {
      idleRssMiB: Number(idleRssMiB.toFixed(1)),
      small: await measure(options.smallMiB),
      large: await measure(options.largeMiB),
    };

    const result = buildResult({
      command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
      dataMiB: options.sizeMiB,
      snapshotBytes,
      blobBytes: BLOB_BYTES,
      s3Store: ctx.s3Store,
      rounds: options.rounds,
      samples,
      memory,
      overhead: {
        emptyBackupSeconds: Number(median(empty.vsnap).toFixed(3)),
        rawPipelineSeconds: Number(median(empty.raw).toFixed(3)),
        emptySnapshotBytes: empty.bytes,
      },
      fill: fills,
      network,
      seaweedfs,
    });
    console.log(`\n${formatTable(result)}\n`);
    mkdirSync(options.out, { recursive: true });
    const file = join(options.out, `bench-${result.when.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    say(`result written to ${file}`);
  } finally {
    await temporal?.close();
    await worker.stop().catch((err: unknown) => say(String(err)));
    await removeBenchObjects(s3, ctx).catch((err: unknown) => say(`could not remove bench objects: ${String(err)}`));
    if (!options.keepData) await fill(0).catch((err: unknown) => say(`could not remove bench data: ${String(err)}`));
    baselines.cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
