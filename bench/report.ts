// Medians, ratios, the printed table and the JSON result. Ratios compare medians measured in
// the same run, on the same stack, so they carry over between machines better than seconds.
import { cpus, totalmem } from 'node:os';
import type { ModelledNetworkSamples, RequestCount, SweepPoint } from './modelled-network-runs';
import type { NetworkModel } from './modelled-network';
import type { SeaweedfsRestoreSamples } from './run-under-seaweedfs';

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const round = (n: number, digits = 2) => Number(n.toFixed(digits));

export interface Samples {
  backup: { limit: number[]; cronJob: number[]; vsnap: number[] };
  restore: { limit: number[]; cronJob: number[]; vsnap: number[] };
  restoreSteps: Record<string, number>[];
  /** The cron-job backup's two passes: `bao … snapshot save` and `aws s3 cp` (S3's own floor). */
  cronJobPasses: { save: number[]; upload: number[] };
  /** The worker process's CPU (user + system, every thread) per vsnap run, seconds per GiB of snapshot. */
  workerCpuPerGiB: { backup: number[]; restore: number[] };
}

export interface MemoryFigures {
  idleRssMiB: number;
  small: { sizeMiB: number; snapshotBytes: number; backupPeakMiB: number; restorePeakMiB: number };
  large: { sizeMiB: number; snapshotBytes: number; backupPeakMiB: number; restorePeakMiB: number };
}

/** vsnap against `aws s3 cp` on the modelled network (bench/modelled-network.ts); Vault's read is the loopback one. */
export interface NetworkFigures {
  model: NetworkModel;
  medians: { limit: number; awsCp: number; vsnapBackup: number };
  traffic: { vsnapBackup: RequestCount; awsCp: RequestCount };
  /** One vsnap backup per upload concurrency and part size. */
  sweep: SweepPoint[];
  samples: { vsnapBackup: number[]; awsCp: number[] };
}

/** Restores into drill with S3 on SeaweedFS instead of moto, same data (bench/seaweedfs-restores.ts). */
export interface SeaweedfsFigures {
  snapshotBytes: number;
  medians: { cronJobRestore: number; vsnapRestore: number };
  samples: { cronJobRestore: number[]; vsnapRestore: number[] };
}

export interface BenchResult {
  when: string;
  command: string;
  machine: { cores: number; cpu: string; memoryGiB: number; node: string; platform: string };
  sizes: { dataMiB: number; snapshotBytes: number; blobBytes: number };
  s3Store: string;
  rounds: number;
  medians: {
    backup: { limit: number; cronJob: number; vsnap: number };
    restore: { limit: number; cronJob: number; vsnap: number };
    vsnapRestoreSteps: Record<string, number>;
    cronJobPasses: { save: number; upload: number };
  };
  ratios: {
    backupVsLimit: number;
    backupVsCronJob: number;
    restoreVsLimit: number;
    restoreVsCronJob: number;
    /** vsnap backup / max(Vault's raw read, `aws s3 cp` of the file alone): a streaming backup's floor is the slower pass. */
    backupVsUploadAlone: number;
    /** vsnap backup / `aws s3 cp` of the same bytes, both on the modelled network; absent when it did not run. */
    backupVsAwsCpModelled?: number;
    /** vsnap restore / the cron-job restore, both with S3 on SeaweedFS; absent when that step did not run. */
    restoreVsCronJobSeaweedfs?: number;
  };
  /** Absent with --quick or --no-network. */
  network?: NetworkFigures;
  /** Absent with --quick or --no-seaweedfs, or when the whole bench ran on SeaweedFS. */
  seaweedfs?: SeaweedfsFigures;
  /** The worker's CPU seconds per GiB of snapshot, medians over the timed rounds. */
  cpu: { backupWorkerCpuSecondsPerGiB: number; restoreWorkerCpuSecondsPerGiB: number };
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
  network?: ModelledNetworkSamples;
  seaweedfs?: SeaweedfsRestoreSamples;
}): BenchResult {
  const backup = medianOf(input.samples.backup);
  const restore = medianOf(input.samples.restore);
  const steps: Record<string, number[]> = {};
  for (const s of input.samples.restoreSteps) for (const [k, v] of Object.entries(s)) (steps[k] ??= []).push(v);
  const network = input.network && networkFigures(input.network, backup.limit);
  const seaweedfs = input.seaweedfs && seaweedfsFigures(input.seaweedfs);
  const ratios = {
    backupVsLimit: round(backup.vsnap / backup.limit),
    backupVsCronJob: round(backup.vsnap / backup.cronJob),
    restoreVsLimit: round(restore.vsnap / restore.limit),
    restoreVsCronJob: round(restore.vsnap / restore.cronJob),
    backupVsUploadAlone: round(backup.vsnap / Math.max(backup.limit, median(input.samples.cronJobPasses.upload))),
    ...(network ? { backupVsAwsCpModelled: round(network.medians.vsnapBackup / network.medians.awsCp) } : {}),
    ...(seaweedfs
      ? { restoreVsCronJobSeaweedfs: round(seaweedfs.medians.vsnapRestore / seaweedfs.medians.cronJobRestore) }
      : {}),
  };
  const cpu = {
    backupWorkerCpuSecondsPerGiB: round(median(input.samples.workerCpuPerGiB.backup)),
    restoreWorkerCpuSecondsPerGiB: round(median(input.samples.workerCpuPerGiB.restore)),
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
    medians: {
      backup,
      restore,
      vsnapRestoreSteps: medianOf(steps),
      cronJobPasses: medianOf(input.samples.cronJobPasses),
    },
    ratios,
    ...(network ? { network } : {}),
    ...(seaweedfs ? { seaweedfs } : {}),
    cpu,
    memory: { ...m, peakRssMiBSmall: round(peakSmall, 1), peakRssMiBLarge: round(peakLarge, 1), growthMiB: growth },
    overhead: input.overhead,
    targets: {
      backupVsUploadAlone: target('<= 1.15', ratios.backupVsUploadAlone, ratios.backupVsUploadAlone <= 1.15),
      ...(ratios.backupVsAwsCpModelled !== undefined
        ? {
            backupVsAwsCpModelled: target('<= 1.00', ratios.backupVsAwsCpModelled, ratios.backupVsAwsCpModelled <= 1),
          }
        : {}),
      backupWorkerCpuSecondsPerGiB: target(
        '<= 3.5',
        cpu.backupWorkerCpuSecondsPerGiB,
        cpu.backupWorkerCpuSecondsPerGiB <= 3.5,
      ),
      restoreVsCronJob: target('<= 1.10', ratios.restoreVsCronJob, ratios.restoreVsCronJob <= 1.1),
      ...(ratios.restoreVsCronJobSeaweedfs !== undefined
        ? {
            restoreVsCronJobSeaweedfs: target(
              '<= 1.10',
              ratios.restoreVsCronJobSeaweedfs,
              ratios.restoreVsCronJobSeaweedfs <= 1.1,
            ),
          }
        : {}),
      peakRssMiBLarge: target('<= 200 MiB', round(peakLarge, 1), peakLarge <= 200),
      rssGrowthMiB: target('< 30 MiB', growth, growth < 30),
      emptyBackupSeconds: target('< 1.0 s', input.overhead.emptyBackupSeconds, input.overhead.emptyBackupSeconds < 1.0),
    },
    samples: input.samples,
    fill: input.fill,
  };
}

function networkFigures(n: ModelledNetworkSamples, limit: number): NetworkFigures {
  return {
    model: n.model,
    medians: { limit, ...medianOf({ awsCp: n.awsCp, vsnapBackup: n.vsnapBackup }) },
    traffic: n.traffic,
    sweep: n.sweep,
    samples: { vsnapBackup: n.vsnapBackup, awsCp: n.awsCp },
  };
}

function seaweedfsFigures(w: SeaweedfsRestoreSamples): SeaweedfsFigures {
  const samples = { cronJobRestore: w.cronJobRestore, vsnapRestore: w.vsnapRestore };
  return { snapshotBytes: w.snapshotBytes, medians: medianOf(samples), samples };
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const seconds = (n: number) => n.toFixed(2);
const times = (n: number) => `${n.toFixed(2)}x`;

/** The backup/restore table's columns after the row label, each wide enough for its header. */
const COLUMNS = [
  { header: 'limit', width: 8 },
  { header: 'cron-job', width: 10 },
  { header: 'vsnap', width: 8 },
  { header: 'vsnap/limit', width: 12 },
  { header: 'vsnap/cron-job', width: 16 },
];

/** One row of the backup/restore table: a 12-character label, then one cell per column. */
function tableRow(label: string, cells: string[]): string {
  return label.padEnd(12) + cells.map((cell, i) => cell.padStart(COLUMNS[i].width)).join('');
}

export function formatTable(r: BenchResult): string {
  const headers = COLUMNS.map((c) => c.header);
  const b = r.medians.backup;
  const t = r.medians.restore;
  const steps = Object.entries(r.medians.vsnapRestoreSteps)
    .map(([k, v]) => `${k} ${v.toFixed(1)}s`)
    .join(', ');
  const nameWidth = Math.max(...Object.keys(r.targets).map((k) => k.length));
  const lines = [
    `vsnap bench — ${r.sizes.dataMiB} MiB of KV data, snapshot ${mib(r.sizes.snapshotBytes)}; ` +
      `S3: ${r.s3Store}; median of ${r.rounds} round(s), seconds; ${r.machine.cores} cores, node ${r.machine.node}`,
    '',
    tableRow('', headers),
    tableRow('backup', [
      ...[b.limit, b.cronJob, b.vsnap].map(seconds),
      times(r.ratios.backupVsLimit),
      times(r.ratios.backupVsCronJob),
    ]),
    tableRow('restore', [
      ...[t.limit, t.cronJob, t.vsnap].map(seconds),
      times(r.ratios.restoreVsLimit),
      times(r.ratios.restoreVsCronJob),
    ]),
    ...(r.seaweedfs ? formatSeaweedfs(r) : []),
    `            cron-job backup = snapshot save ${r.medians.cronJobPasses.save.toFixed(2)} s + aws s3 cp ` +
      `${r.medians.cronJobPasses.upload.toFixed(2)} s (the upload alone: this S3 endpoint's floor)`,
    `            vsnap restore steps: ${steps}`,
    `            vsnap backup / max(vault read, aws s3 cp alone): ${r.ratios.backupVsUploadAlone.toFixed(2)}x`,
    `worker CPU  ${r.cpu.backupWorkerCpuSecondsPerGiB.toFixed(2)} CPU-s per GiB backed up, ` +
      `${r.cpu.restoreWorkerCpuSecondsPerGiB.toFixed(2)} per GiB restored (user + system, every thread)`,
    '',
    `worker RSS  idle ${r.memory.idleRssMiB.toFixed(0)} MiB; peak at ${r.memory.small.sizeMiB} MiB ` +
      `(snapshot ${mib(r.memory.small.snapshotBytes)}): ${r.memory.peakRssMiBSmall.toFixed(0)} MiB; ` +
      `at ${r.memory.large.sizeMiB} MiB (snapshot ${mib(r.memory.large.snapshotBytes)}): ` +
      `${r.memory.peakRssMiBLarge.toFixed(0)} MiB; growth ${r.memory.growthMiB.toFixed(0)} MiB`,
    `overhead    near-empty backup (${r.overhead.emptySnapshotBytes} bytes): vsnap ` +
      `${r.overhead.emptyBackupSeconds.toFixed(2)} s end to end, raw read+put ${r.overhead.rawPipelineSeconds.toFixed(2)} s`,
    ...(r.network ? ['', ...formatNetwork(r)] : []),
    '',
    'targets:',
    ...Object.entries(r.targets).map(
      ([k, v]) =>
        `  ${v.met ? 'met   ' : 'MISSED'} ${k.padEnd(nameWidth)} ${String(v.value).padStart(8)}  (target ${v.target})`,
    ),
  ];
  return lines.join('\n');
}

/** The restore again with S3 on SeaweedFS, as a row under the restore row, and what it is. */
function formatSeaweedfs(r: BenchResult): string[] {
  const w = r.seaweedfs!;
  return [
    tableRow('  SeaweedFS', [
      '—',
      seconds(w.medians.cronJobRestore),
      seconds(w.medians.vsnapRestore),
      '—',
      times(r.ratios.restoreVsCronJobSeaweedfs!),
    ]),
    `            SeaweedFS: the same restores with S3 on SeaweedFS (scripts/with-seaweedfs.sh), ` +
      `snapshot ${mib(w.snapshotBytes)}, median of ${w.samples.vsnapRestore.length}`,
  ];
}

/** The modelled network's lines: loopback and modelled side by side, then the sweep. */
function formatNetwork(r: BenchResult): string[] {
  const n = r.network!;
  const s = (v: number) => v.toFixed(2).padStart(12);
  const x = (v: number) => `${v.toFixed(2)}x`.padStart(17);
  const loopback = { awsCp: r.medians.cronJobPasses.upload, vsnap: r.medians.backup.vsnap };
  const trafficText = (t: RequestCount) => `${t.requests} requests, ${t.connections} new connections`;
  const mbs = n.model.bytesPerSecondPerConnection / 1e6;
  return [
    `modelled network: ${n.model.latencyMs} ms to first byte, ${mbs.toFixed(0)} MB/s per connection each way ` +
      '(bench/README.md, "The modelled network")',
    `backup      ${'vault read'.padStart(12)}${'aws s3 cp'.padStart(12)}${'vsnap'.padStart(12)}${'vsnap/aws s3 cp'.padStart(17)}`,
    `loopback    ${s(n.medians.limit)}${s(loopback.awsCp)}${s(loopback.vsnap)}${x(loopback.vsnap / loopback.awsCp)}`,
    `modelled    ${'—'.padStart(12)}${s(n.medians.awsCp)}${s(n.medians.vsnapBackup)}${x(r.ratios.backupVsAwsCpModelled!)}`,
    `            through it: vsnap ${trafficText(n.traffic.vsnapBackup)}, aws s3 cp ${trafficText(n.traffic.awsCp)}`,
    'sweep, one vsnap backup each on the modelled network:',
    `  ${'concurrency'.padStart(11)}${'part MiB'.padStart(10)}${'seconds'.padStart(9)}${'peak RSS MiB'.padStart(14)}` +
      `${'requests'.padStart(10)}${'new conns'.padStart(13)}`,
    ...n.sweep.map(
      (p) =>
        `  ${String(p.uploadConcurrency).padStart(11)}${String(p.partSizeMiB).padStart(10)}${p.seconds.toFixed(2).padStart(9)}` +
        `${p.peakRssMiB.toFixed(0).padStart(14)}${String(p.requests).padStart(10)}${String(p.connections).padStart(13)}`,
    ),
  ];
}
