// Medians, ratios, the printed table and the JSON result. Ratios compare medians measured in
// the same run, on the same stack, so they carry over between machines better than seconds.
import { cpus, totalmem } from 'node:os';

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const round = (n: number, digits = 2) => Number(n.toFixed(digits));

export interface Samples {
  backup: { limit: number[]; seed: number[]; vsnap: number[] };
  restore: { limit: number[]; seed: number[]; vsnap: number[] };
  restoreSteps: Record<string, number>[];
  /** The cron-job backup's two passes: `bao … snapshot save` and `aws s3 cp` (S3's own floor). */
  seedPasses: { save: number[]; upload: number[] };
}

export interface MemoryFigures {
  idleRssMiB: number;
  small: { sizeMiB: number; snapshotBytes: number; backupPeakMiB: number; restorePeakMiB: number };
  large: { sizeMiB: number; snapshotBytes: number; backupPeakMiB: number; restorePeakMiB: number };
}

export interface BenchResult {
  when: string;
  command: string;
  machine: { cores: number; cpu: string; memoryGiB: number; node: string; platform: string };
  sizes: { dataMiB: number; snapshotBytes: number; blobBytes: number };
  s3Store: string;
  rounds: number;
  medians: {
    backup: { limit: number; seed: number; vsnap: number };
    restore: { limit: number; seed: number; vsnap: number };
    vsnapRestoreSteps: Record<string, number>;
    seedPasses: { save: number; upload: number };
  };
  ratios: {
    backupVsLimit: number;
    backupVsSeed: number;
    restoreVsLimit: number;
    restoreVsSeed: number;
  };
  memory: MemoryFigures & { peakRssMiBSmall: number; peakRssMiBLarge: number; growthMiB: number };
  overhead: { emptyBackupSeconds: number; rawPipelineSeconds: number; emptySnapshotBytes: number };
  targets: Record<string, { target: string; value: number; met: boolean }>;
  samples: Samples;
  fill: { seconds: number; written: number }[];
}

function medianOf<K extends string>(groups: Record<K, number[]>): Record<K, number> {
  return Object.fromEntries(Object.entries(groups).map(([k, v]) => [k, round(median(v as number[]), 3)])) as Record<
    K,
    number
  >;
}

export function buildResult(input: {
  command: string;
  dataMiB: number;
  snapshotBytes: number;
  blobBytes: number;
  s3Store: string;
  rounds: number;
  samples: Samples;
  memory: MemoryFigures;
  overhead: BenchResult['overhead'];
  fill: BenchResult['fill'];
}): BenchResult {
  const backup = medianOf(input.samples.backup);
  const restore = medianOf(input.samples.restore);
  const steps: Record<string, number[]> = {};
  for (const s of input.samples.restoreSteps) for (const [k, v] of Object.entries(s)) (steps[k] ??= []).push(v);
  const ratios = {
    backupVsLimit: round(backup.vsnap / backup.limit),
    backupVsSeed: round(backup.vsnap / backup.seed),
    restoreVsLimit: round(restore.vsnap / restore.limit),
    restoreVsSeed: round(restore.vsnap / restore.seed),
  };
  const m = input.memory;
  const peakSmall = Math.max(m.small.backupPeakMiB, m.small.restorePeakMiB);
  const peakLarge = Math.max(m.large.backupPeakMiB, m.large.restorePeakMiB);
  const growth = round(peakLarge - peakSmall, 1);
  const target = (t: string, value: number, met: boolean) => ({ target: t, value, met });
  return {
    when: new Date().toISOString(),
    command: input.command,
    machine: {
      cores: cpus().length,
      cpu: cpus()[0]?.model ?? 'unknown',
      memoryGiB: round(totalmem() / 2 ** 30, 1),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
    },
    sizes: { dataMiB: input.dataMiB, snapshotBytes: input.snapshotBytes, blobBytes: input.blobBytes },
    s3Store: input.s3Store,
    rounds: input.rounds,
    medians: { backup, restore, vsnapRestoreSteps: medianOf(steps), seedPasses: medianOf(input.samples.seedPasses) },
    ratios,
    memory: { ...m, peakRssMiBSmall: round(peakSmall, 1), peakRssMiBLarge: round(peakLarge, 1), growthMiB: growth },
    overhead: input.overhead,
    targets: {
      backupVsLimit: target('<= 1.15', ratios.backupVsLimit, ratios.backupVsLimit <= 1.15),
      backupVsSeed: target('<= 0.70', ratios.backupVsSeed, ratios.backupVsSeed <= 0.7),
      restoreVsSeed: target('<= 1.10', ratios.restoreVsSeed, ratios.restoreVsSeed <= 1.1),
      peakRssMiBLarge: target('<= 200 MiB', round(peakLarge, 1), peakLarge <= 200),
      rssGrowthMiB: target('< 30 MiB', growth, growth < 30),
      emptyBackupSeconds: target('< 1.5 s', input.overhead.emptyBackupSeconds, input.overhead.emptyBackupSeconds < 1.5),
    },
    samples: input.samples,
    fill: input.fill,
  };
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

export function formatTable(r: BenchResult): string {
  const s = (n: number) => n.toFixed(2).padStart(8);
  const x = (n: number) => `${n.toFixed(2)}x`.padStart(12);
  const b = r.medians.backup;
  const t = r.medians.restore;
  const steps = Object.entries(r.medians.vsnapRestoreSteps)
    .map(([k, v]) => `${k} ${v.toFixed(1)}s`)
    .join(', ');
  const lines = [
    `vsnap bench — ${r.sizes.dataMiB} MiB of KV data, snapshot ${mib(r.sizes.snapshotBytes)}; ` +
      `S3: ${r.s3Store}; median of ${r.rounds} round(s), seconds; ${r.machine.cores} cores, node ${r.machine.node}`,
    '',
    `            ${'limit'.padStart(8)}${'seed'.padStart(8)}${'vsnap'.padStart(8)}${'vsnap/limit'.padStart(12)}${'vsnap/seed'.padStart(12)}`,
    `backup      ${s(b.limit)}${s(b.seed)}${s(b.vsnap)}${x(r.ratios.backupVsLimit)}${x(r.ratios.backupVsSeed)}`,
    `restore     ${s(t.limit)}${s(t.seed)}${s(t.vsnap)}${x(r.ratios.restoreVsLimit)}${x(r.ratios.restoreVsSeed)}`,
    `            seed backup = snapshot save ${r.medians.seedPasses.save.toFixed(2)} s + aws s3 cp ` +
      `${r.medians.seedPasses.upload.toFixed(2)} s (the upload alone: this S3 endpoint's floor)`,
    `            vsnap restore steps: ${steps}`,
    '',
    `worker RSS  idle ${r.memory.idleRssMiB.toFixed(0)} MiB; peak at ${r.memory.small.sizeMiB} MiB ` +
      `(snapshot ${mib(r.memory.small.snapshotBytes)}): ${r.memory.peakRssMiBSmall.toFixed(0)} MiB; ` +
      `at ${r.memory.large.sizeMiB} MiB (snapshot ${mib(r.memory.large.snapshotBytes)}): ` +
      `${r.memory.peakRssMiBLarge.toFixed(0)} MiB; growth ${r.memory.growthMiB.toFixed(0)} MiB`,
    `overhead    near-empty backup (${r.overhead.emptySnapshotBytes} bytes): vsnap ` +
      `${r.overhead.emptyBackupSeconds.toFixed(2)} s end to end, raw read+put ${r.overhead.rawPipelineSeconds.toFixed(2)} s`,
    '',
    'targets:',
    ...Object.entries(r.targets).map(
      ([k, v]) =>
        `  ${v.met ? 'met   ' : 'MISSED'} ${k.padEnd(20)} ${String(v.value).padStart(8)}  (target ${v.target})`,
    ),
  ];
  return lines.join('\n');
}
