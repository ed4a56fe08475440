// What a run is doing right now, and the one place it is rendered: its status, the step from the
// `progress` query, and the live byte count from the running activity's heartbeat. On a
// terminal, one line redrawn in place; otherwise plain lines (logs, CI). `vsnap watch` and the
// commands that wait for their run (backup --wait, restore, verify) show it the same way.
import type { Client, WorkflowHandle } from '@temporalio/client';
import {
  decodeOptionalFailureToOptionalError,
  decodeOptionalSinglePayload,
} from '@temporalio/common/lib/internal-non-workflow';
import { describeFailure } from '../workflows/failure-chain';
import { CodecError } from './remote-codec';

export interface RunProgress {
  workflowId: string;
  type: string;
  status: string;
  step?: string;
  bytes?: number;
  totalBytes?: number;
  /**
   * While this snapshot's size is unknown (a backup): the size of the cluster's previous
   * snapshot, which the bar and the ETA count towards as an estimate.
   */
  expectedBytes?: number;
  /** Attempt of the running activity; > 1 means it is being retried. */
  attempt?: number;
  /** While the run waits for its cluster's lock: the operation it waits for. */
  waitingFor?: { workflowId: string; kind: string };
  lastFailure?: string;
}

interface ProgressQuery {
  step?: string;
  waitingFor?: { workflowId: string; kind: string };
  bytes?: number;
  totalBytes?: number;
  expectedBytes?: number;
}

/**
 * The run's `progress` query, or undefined when it cannot answer (not yet running, no such
 * query). A CodecError is thrown, not swallowed: the answer is there, and this CLI cannot
 * read it; waiting for a better answer would wait forever.
 */
export async function queryProgress<P>(handle: WorkflowHandle): Promise<P | undefined> {
  try {
    return await handle.query<P>('progress');
  } catch (err) {
    if (err instanceof CodecError) throw err;
    return undefined;
  }
}

/**
 * `client` decodes the heartbeat details as it decodes everything else: with payload
 * encryption on, they are encrypted like any payload the worker writes.
 */
export async function readProgress(client: Client, handle: WorkflowHandle): Promise<RunProgress> {
  const d = await handle.describe();
  const p: RunProgress = { workflowId: d.workflowId, type: d.type, status: d.status.name };
  const q = await queryProgress<ProgressQuery>(handle);
  if (q?.step) p.step = q.step;
  if (q?.waitingFor) p.waitingFor = q.waitingFor;
  if (q?.totalBytes) p.totalBytes = q.totalBytes;
  if (q?.expectedBytes) p.expectedBytes = q.expectedBytes;
  if (q?.bytes) p.bytes = q.bytes;
  const pending = d.raw.pendingActivities?.[0];
  const payload = pending?.heartbeatDetails?.payloads?.[0];
  if (payload) {
    const details = await decodeOptionalSinglePayload<{ step?: string; bytes?: number }>(
      client.options.loadedDataConverter,
      payload,
    );
    if (typeof details?.bytes === 'number') p.bytes = details.bytes;
  }
  if (pending?.attempt && pending.attempt > 1) p.attempt = pending.attempt;
  if (pending?.lastFailure) {
    // With encryption on, the raw message only says "Encoded failure": the real one is in an
    // encrypted attribute, decoded like every payload.
    const failure = await decodeOptionalFailureToOptionalError(client.options.loadedDataConverter, pending.lastFailure);
    if (failure) p.lastFailure = describeFailure(failure);
  }
  return p;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * The byte rate over the last `windowMs`, for rate and ETA. A window, not the last two samples:
 * heartbeat bytes move in whole upload parts, so between two parts the instant rate is zero.
 */
export class RateMeter {
  private samples: { at: number; bytes: number }[] = [];
  rate = 0;

  constructor(private readonly windowMs = 30_000) {}

  sample(bytes: number | undefined, now = Date.now()): void {
    if (bytes === undefined) return;
    // Fewer bytes than before: a retry started over; what came before says nothing about it.
    if (bytes < (this.samples.at(-1)?.bytes ?? 0)) this.samples = [];
    this.samples.push({ at: now, bytes });
    while (this.samples.length > 2 && now - this.samples[1].at >= this.windowMs) this.samples.shift();
    const oldest = this.samples[0];
    this.rate = now > oldest.at ? ((bytes - oldest.bytes) * 1000) / (now - oldest.at) : 0;
  }
}

/** 42s, 3m07s, 2h05m: an ETA at a glance. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * Seconds left at `rate`, towards the known size or, for a backup, the previous snapshot's;
 * undefined without a rate, or once the bytes passed the estimate (the snapshot grew).
 */
export function etaSeconds(p: RunProgress, rate: number): number | undefined {
  const total = p.totalBytes ?? p.expectedBytes;
  if (p.bytes === undefined || !total || rate <= 0 || p.bytes >= total) return undefined;
  return (total - p.bytes) / rate;
}

export function formatProgress(p: RunProgress, rate: number, width = 30): string {
  const parts = [`${p.type} ${p.workflowId}`, p.status.toLowerCase()];
  if (p.step) parts.push(`step ${p.step}`);
  if (p.waitingFor) parts.push(`behind ${p.waitingFor.kind} ${p.waitingFor.workflowId}`);
  if (p.bytes !== undefined) {
    const total = p.totalBytes ?? p.expectedBytes;
    // "~": the previous snapshot's size, this one's may differ.
    const approx = p.totalBytes === undefined ? '~' : '';
    if (total) {
      const done = Math.min(1, p.bytes / total);
      const filled = Math.round(done * width);
      parts.push(`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${approx}${(done * 100).toFixed(0)}%`);
      parts.push(`${mib(p.bytes)}/${approx}${mib(total)}`);
      const eta = etaSeconds(p, rate);
      if (eta !== undefined) parts.push(`ETA ${approx}${formatDuration(eta)}`);
    } else {
      parts.push(mib(p.bytes));
    }
    if (rate > 0) parts.push(`${mib(rate)}/s`);
  }
  if (p.attempt) parts.push(`attempt ${p.attempt}${p.lastFailure ? ` (last: ${p.lastFailure})` : ''}`);
  return parts.join('  ');
}

export interface ProgressOutput {
  /** A terminal: one line, redrawn in place. Otherwise plain lines, one per change worth a line. */
  tty: boolean;
  write(text: string): void;
  /** Terminal width: a longer line would wrap, and only its last row would be redrawn. */
  columns?: number | undefined;
  /**
   * Off a terminal, the least time between two lines that differ only in bytes; a new status,
   * step or retry, and the first bytes, print at once.
   */
  plainIntervalMs: number;
}

/** Renders successive samples of one run to a terminal line or to plain lines. */
export class ProgressView {
  private readonly meter = new RateMeter();
  private lastState?: string;
  private lastBytes?: number;
  private lastPrintedAt = 0;
  private drawn = false;

  constructor(private readonly out: ProgressOutput) {}

  show(p: RunProgress, now = Date.now()): void {
    this.meter.sample(p.bytes, now);
    const line = formatProgress(p, this.meter.rate);
    if (this.out.tty) {
      const fit = this.out.columns && line.length >= this.out.columns ? line.slice(0, this.out.columns - 1) : line;
      this.out.write(`\r\x1b[2K${fit}`);
      this.drawn = true;
      return;
    }
    const state = [p.status, p.step, p.waitingFor?.workflowId, p.attempt, p.bytes !== undefined].join('|');
    const bytesMoved = p.bytes !== this.lastBytes && now - this.lastPrintedAt >= this.out.plainIntervalMs;
    if (state === this.lastState && !bytesMoved) return;
    this.out.write(`${line}\n`);
    this.lastState = state;
    this.lastBytes = p.bytes;
    this.lastPrintedAt = now;
  }

  /** Ends the terminal line: kept as the last word (watch), or erased before a command's result. */
  finish(keepLine: boolean): void {
    if (!this.drawn) return;
    this.out.write(keepLine ? '\n' : '\r\x1b[2K');
    this.drawn = false;
  }
}

export interface FollowOptions {
  intervalMs?: number;
  /** Stops following (a command that got its result another way). */
  signal?: AbortSignal;
  /** Errors worth another read at the next tick; any other error ends the loop. */
  transient?: (err: unknown) => boolean;
}

/**
 * Reads a run's progress every `intervalMs`, showing it in `view` if given, until the run is no
 * longer running or `signal` aborts. Returns the last progress read (none only when stopped
 * before any read succeeded).
 */
export async function followRun(
  client: Client,
  handle: WorkflowHandle,
  view: ProgressView | undefined,
  options: FollowOptions = {},
): Promise<RunProgress | undefined> {
  let last: RunProgress | undefined;
  for (;;) {
    try {
      last = await readProgress(client, handle);
    } catch (err) {
      if (!options.transient?.(err) || options.signal?.aborted) throw err;
    }
    if (options.signal?.aborted) return last;
    if (last) {
      view?.show(last);
      if (last.status !== 'RUNNING') return last;
    }
    await sleep(options.intervalMs ?? 1000, options.signal);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
