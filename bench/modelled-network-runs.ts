// vsnap and the cron-job procedure's upload on the modelled network (bench/modelled-network.ts):
// a vsnap backup whose worker reaches S3 only through it, against `aws s3 cp` of a snapshot file
// of the same data through it, round by round; then one vsnap backup for each upload concurrency
// and part size in SWEEP, so the defaults are chosen for a network like S3's, not for loopback.
import { rmSync } from 'node:fs';
import type { VsnapClient } from '../client/connection';
import type { Baselines } from './baselines';
import type { BenchContext } from './context';
import {
  DEFAULT_NETWORK_MODEL,
  type ModelledNetwork,
  type NetworkModel,
  startModelledNetwork,
} from './modelled-network';
import { alternate } from './rounds';
import { vsnapBackup } from './vsnap-runs';
import { startWorkerProcess } from './worker-process';

/** The worker settings swept (VSNAP_UPLOAD_CONCURRENCY, VSNAP_PART_SIZE_MIB); 4 and 8 are the defaults. */
export const SWEEP = { uploadConcurrency: [2, 4, 8], partSizeMiB: [8, 16] };

/** Requests one run made through the modelled network, and the client connections it opened (kept-alive ones it reused do not count). */
export interface RequestCount {
  requests: number;
  connections: number;
}

export interface SweepPoint extends RequestCount {
  uploadConcurrency: number;
  partSizeMiB: number;
  seconds: number;
  peakRssMiB: number;
}

export interface ModelledNetworkSamples {
  model: NetworkModel;
  vsnapBackup: number[];
  awsCp: number[];
  /** Of the last run of each. */
  traffic: { vsnapBackup: RequestCount; awsCp: RequestCount };
  sweep: SweepPoint[];
}

/**
 * Runs `work` and counts what it sent through `network`. A run that sent nothing did not use the
 * modelled network at all (its endpoint setting did not take): that must fail, not look fast.
 */
async function counted<T>(network: ModelledNetwork, what: string, work: () => Promise<T>): Promise<[T, RequestCount]> {
  const before = network.traffic();
  const result = await work();
  const after = network.traffic();
  const count = { requests: after.requests - before.requests, connections: after.connections - before.connections };
  if (count.requests === 0) throw new Error(`${what} made no request through the modelled network`);
  return [result, count];
}

export async function measureOnModelledNetwork(input: {
  ctx: BenchContext;
  temporal: VsnapClient;
  baselines: Baselines;
  rounds: number;
  logFile: string;
  say: (line: string) => void;
  model?: NetworkModel;
}): Promise<ModelledNetworkSamples> {
  const { ctx, temporal, baselines, say } = input;
  const network = await startModelledNetwork(ctx.s3Endpoint, input.model ?? DEFAULT_NETWORK_MODEL, {
    caFile: process.env.AWS_CA_BUNDLE,
  });
  // The worker's S3 client (only S3: KMS and Secrets Manager stay where they were) goes through it.
  const viaNetwork = { AWS_ENDPOINT_URL_S3: network.endpoint };
  const samples: ModelledNetworkSamples = {
    model: network.model,
    vsnapBackup: [],
    awsCp: [],
    traffic: { vsnapBackup: { requests: 0, connections: 0 }, awsCp: { requests: 0, connections: 0 } },
    sweep: [],
  };
  try {
    const file = await input.baselines.saveSnapshotFile('modelled-network.snap');
    const worker = await startWorkerProcess(ctx, input.logFile, viaNetwork);
    try {
      for (let round = 0; round < input.rounds; round++) {
        say(`modelled network, round ${round + 1}/${input.rounds}: vsnap backup, aws s3 cp`);
        await alternate(round, [
          async () => {
            const [b, count] = await counted(network, 'the vsnap backup', () => vsnapBackup(temporal));
            samples.vsnapBackup.push(b.seconds);
            samples.traffic.vsnapBackup = count;
          },
          async () => {
            const key = `${ctx.prefix}/cron-job/modelled-network-${round}.snap`;
            const [seconds, count] = await counted(network, 'aws s3 cp', () =>
              baselines.awsUpload(file, key, network.endpoint),
            );
            samples.awsCp.push(seconds);
            samples.traffic.awsCp = count;
          },
        ]);
      }
    } finally {
      rmSync(file, { force: true });
      await worker.stop();
    }

    for (const partSizeMiB of SWEEP.partSizeMiB) {
      for (const uploadConcurrency of SWEEP.uploadConcurrency) {
        const sweepWorker = await startWorkerProcess(ctx, input.logFile, {
          ...viaNetwork,
          VSNAP_UPLOAD_CONCURRENCY: String(uploadConcurrency),
          VSNAP_PART_SIZE_MIB: String(partSizeMiB),
        });
        try {
          sweepWorker.resetPeak();
          const [b, count] = await counted(network, 'the vsnap backup', () => vsnapBackup(temporal));
          const peakRssMiB = Number(sweepWorker.peakRssMiB().toFixed(1));
          samples.sweep.push({
            uploadConcurrency,
            partSizeMiB,
            seconds: Number(b.seconds.toFixed(3)),
            peakRssMiB,
            ...count,
          });
          say(
            `  sweep: concurrency ${uploadConcurrency}, ${partSizeMiB} MiB parts: ${b.seconds.toFixed(2)} s, ` +
              `peak ${peakRssMiB.toFixed(0)} MiB`,
          );
        } finally {
          await sweepWorker.stop();
        }
      }
    }
    return samples;
  } finally {
    await network.close();
  }
}
