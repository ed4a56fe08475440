// vsnap snapshots: what a cluster has in S3 (list), what one archive holds (inspect), and a
// verified local copy of one (download, snapshots-download.ts). All read S3 or a local file
// directly with the worker's config: no Temporal, worker or Vault token is needed, so they work
// when those are down, which is when an operator needs them.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { HeadObjectCommand, S3ServiceException } from '@aws-sdk/client-s3';
import type { ClusterConfig, StorageCopyConfig } from '../../config/cluster-schema';
import { copyKeyFor, copyLocation } from '../../activities/storage/copy-location';
import type { SnapshotStore } from '../../activities/storage/snapshot-store';
import {
  type ArchiveFacts,
  ArchiveInvalidError,
  SnapshotArchiveValidator,
} from '../../activities/archive/snapshot-archive';
import { StateFormatError, type StateKeyCounts, StateKeyCounter } from '../../activities/archive/state-keys';
import type { SnapshotManifest } from '../../activities/storage/manifest';
import type { VerificationRecord } from '../../workflows/restore-types';
import { type Command, type CommandOptions, ExitCode, parseCommandArgs, printJson, UsageError } from '../cli';
import { clusterContext, errorText, manifestMismatch, storedLocation, withStore } from '../stored-snapshots';
import { downloadSnapshot } from './snapshots-download';

const HELP = `Usage: vsnap snapshots list [--cluster NAME] [--json]
       vsnap snapshots inspect KEY|FILE [--cluster NAME] [--json]
       vsnap snapshots download KEY FILE [--cluster NAME] [--force] [--json]

Read a cluster's snapshots straight from S3 (no worker, Temporal or Vault token needed).

  list      The cluster's snapshots, newest first: key, time (UTC), age, size, SHA-256 and
            Raft index from the manifest, and the last restore drill's verdict. With
            storage.copies, COPIES shows each copy ("offsite ✓": there, with the snapshot's
            size; ✗: missing or another size); with storage.objectLock, LOCKED UNTIL shows
            when the snapshot's S3 Object Lock ends (one HEAD per snapshot and copy). A snapshot
            without a manifest shows as "incomplete (no manifest)": its backup did not
            finish, so it is not a valid backup.
  inspect   Validate one archive (gzip trailer, tar entries, SHA256SUMS, state.bin size) and
            print meta.json (Raft index, term, version, size, configuration index), the
            SHA-256 of the whole file and the number of keys per prefix in state.bin, like
            "vault operator raft snapshot inspect". KEY|FILE is a local file if one exists at
            that path, else an S3 key in the cluster's bucket (a bare file name is taken under
            the cluster's prefix; s3://BUCKET/KEY also works). A stored snapshot with a
            manifest is also checked against the manifest's SHA-256 and size.
  download  Copy a stored snapshot (KEY as for inspect) to FILE, for "vault operator raft
            snapshot restore" when vsnap's workflows cannot run. Checked on the way: SHA-256
            and size against its manifest, and the archive as inspect validates it. The bytes
            go to FILE.partial, renamed to FILE once every check passed; on any mismatch
            FILE.partial is deleted and nothing is left. A snapshot without a manifest is
            refused: there is nothing to check it against. Prints the verified SHA-256 and
            size. An existing FILE is never replaced without --force.

Options:
  --cluster NAME   cluster from the worker's config (default: the first configured)
  --force          download: replace an existing FILE (and a FILE.partial that an
                   interrupted download left)
  --json           machine-readable JSON on stdout (full SHA-256s)
  -h, --help       this help

Configuration: the worker's, from the JSON file VSNAP_CONFIG names (or the worker's env-only
settings: BUCKET_NAME, VAULT_ADDR, ...). AWS credentials, region and endpoint come from the
AWS SDK's usual chain. Inspecting a local file needs none of it.

Exit codes: 0 ok; 1 an invalid archive, a manifest mismatch or an S3 failure; 2 bad usage,
an unknown cluster, no configuration, or a FILE that exists (without --force).

Examples:
  vsnap snapshots list --cluster prod
  vsnap snapshots inspect vsnap/prod/2026-11-28T01-28-02.081Z.snap
  vsnap snapshots inspect ./raft.snap --json
  vsnap snapshots download vsnap/prod/2026-11-28T01-28-02.081Z.snap ./raft.snap`;

const OPTIONS = {
  cluster: { type: 'string' },
  force: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies CommandOptions;

const SUBCOMMANDS = ['list', 'inspect', 'download'] as const;

interface Flags {
  cluster?: string | undefined;
  json: boolean;
}

export const snapshotsCommand: Command = {
  name: 'snapshots',
  synopsis: 'List stored snapshots, inspect one archive, or download one verified',
  help: HELP,
  options: OPTIONS,
  subcommands: SUBCOMMANDS,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('snapshots', argv, OPTIONS, true);
    const [subcommand, ...args] = positionals;
    if (values.force && (subcommand === 'list' || subcommand === 'inspect')) {
      throw new UsageError(`vsnap snapshots ${subcommand}: --force applies to download only`);
    }
    switch (subcommand) {
      case 'list':
        if (args.length > 0) throw new UsageError(`vsnap snapshots list: unexpected argument "${args[0]}"`);
        return listSnapshots(values);
      case 'inspect':
        if (args.length !== 1)
          throw new UsageError('vsnap snapshots inspect: give exactly one KEY or FILE; see --help');
        return inspectSnapshot(args[0], values);
      case 'download':
        if (args.length !== 2) throw new UsageError('vsnap snapshots download: give a KEY and a FILE; see --help');
        return downloadSnapshot(args[0], args[1], values);
      case undefined:
        throw new UsageError(
          'vsnap snapshots: give a subcommand, list, inspect or download; see "vsnap snapshots --help"',
        );
      default:
        throw new UsageError(
          `vsnap snapshots: unknown subcommand "${subcommand}" (expected list, inspect or download)`,
        );
    }
  },
};

// ---- list ----

interface ListedSnapshot {
  key: string;
  takenAt: string;
  ageSeconds: number;
  size: number;
  /** False when the snapshot has no manifest: its backup did not finish. */
  complete: boolean;
  sha256: string | null;
  raftIndex: number | null;
  raftTerm: number | null;
  verification: VerificationRecord | null;
  /** Each storage.copies destination: is this snapshot there, whole (its size), and locked until when. */
  copies: ListedCopy[];
  /** The primary's S3 Object Lock end (ISO 8601), when the cluster has storage.objectLock; else null. */
  lockedUntil: string | null;
}

interface ListedCopy {
  name: string;
  bucket: string;
  key: string;
  /** The object is there with the manifest's size. */
  present: boolean;
  lockedUntil: string | null;
}

async function listSnapshots(flags: Flags): Promise<number> {
  const { config, cluster } = clusterContext('list', flags.cluster);
  const { bucket, prefix } = cluster.storage;
  let snapshots: ListedSnapshot[];
  try {
    snapshots = await withStore('list', config, async (store, copyStore) => {
      const objects = await store.listSnapshots(bucket, prefix);
      const now = Date.now();
      const objectLock = cluster.storage.objectLock !== undefined;
      return Promise.all(
        objects.map(async (o): Promise<ListedSnapshot> => {
          const m = o.manifest;
          // Only a complete backup can have been drilled.
          const verification = m ? await store.readVerification(bucket, o.key) : undefined;
          return {
            key: o.key,
            takenAt: o.takenAt.toISOString(),
            ageSeconds: Math.max(0, Math.round((now - o.takenAt.getTime()) / 1000)),
            size: m?.size ?? o.size,
            complete: m !== undefined,
            sha256: m?.sha256 ?? null,
            raftIndex: m?.raft.raftIndex ?? null,
            raftTerm: m?.raft.raftTerm ?? null,
            verification: verification ?? null,
            copies: await Promise.all(
              (cluster.storage.copies ?? []).map((copy) =>
                listedCopy(copyStore(copy), cluster, copy, o.key, m?.size ?? o.size),
              ),
            ),
            lockedUntil: objectLock
              ? ((await store.retentionOf(bucket, o.key))?.retainUntil.toISOString() ?? null)
              : null,
          };
        }),
      );
    });
  } catch (err) {
    console.error(`vsnap snapshots list: cannot list s3://${bucket}/${prefix}/: ${errorText(err)}`);
    return ExitCode.runFailed;
  }
  if (flags.json) {
    printJson({ cluster: cluster.name, bucket, prefix, snapshots });
    return ExitCode.ok;
  }
  if (snapshots.length === 0) {
    console.log(`${cluster.name}: no snapshots under s3://${bucket}/${prefix}/`);
    return ExitCode.ok;
  }
  console.log(`${cluster.name}: ${snapshots.length} snapshot(s) under s3://${bucket}/${prefix}/\n`);
  // The copy and lock columns only for a cluster that has copies or a lock.
  const showCopies = (cluster.storage.copies?.length ?? 0) > 0;
  const showLocks = cluster.storage.objectLock !== undefined;
  printTable(
    [
      'KEY',
      'TIME (UTC)',
      'AGE',
      'SIZE',
      'SHA256',
      'RAFT INDEX',
      ...(showCopies ? ['COPIES'] : []),
      ...(showLocks ? ['LOCKED UNTIL'] : []),
      'VERIFIED BY DRILL',
    ],
    snapshots.map((s) => [
      s.key,
      utcTime(s.takenAt),
      formatAge(s.ageSeconds),
      formatBytes(s.size),
      s.sha256 ? s.sha256.slice(0, 12) : '-',
      s.raftIndex === null ? '-' : String(s.raftIndex),
      ...(showCopies ? [s.copies.map((c) => `${c.name} ${c.present ? '✓' : '✗'}`).join(' ')] : []),
      ...(showLocks ? [s.lockedUntil ? utcTime(s.lockedUntil) : '-'] : []),
      drillStatus(s),
    ]),
  );
  return ExitCode.ok;
}

/** One HEAD at the copy: present with the snapshot's size, and its lock when the copy has one. */
async function listedCopy(
  store: SnapshotStore,
  cluster: ClusterConfig,
  copy: StorageCopyConfig,
  snapshotKey: string,
  size: number,
): Promise<ListedCopy> {
  const { bucket } = copyLocation(cluster, copy);
  const key = copyKeyFor(cluster, copy, snapshotKey);
  const head = await store.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).catch((err: unknown) => {
    if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404) return undefined;
    throw err;
  });
  const lockedUntil = copy.objectLock ? head?.ObjectLockRetainUntilDate?.toISOString() : undefined;
  return { name: copy.name, bucket, key, present: head?.ContentLength === size, lockedUntil: lockedUntil ?? null };
}

function drillStatus(s: ListedSnapshot): string {
  if (!s.complete) return 'incomplete (no manifest)';
  if (!s.verification) return '-';
  return `${s.verification.passed ? 'passed' : 'FAILED'} ${utcTime(s.verification.verifiedAt)}`;
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const row of [header, ...rows]) {
    console.log(
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    );
  }
}

/** "2026-11-28 02:06:43Z": sortable, unambiguous, and short enough for a table. */
function utcTime(iso: string): string {
  const time = new Date(iso);
  return Number.isNaN(time.getTime())
    ? iso
    : time
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d{3}Z$/, 'Z');
}

/** The two largest units: "45s", "12m30s", "3h12m", "2d4h". */
function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d${h}h`;
  if (h > 0) return `${h}h${m}m`;
  if (m > 0) return `${m}m${s % 60}s`;
  return `${s}s`;
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

// ---- inspect ----

interface ArchiveSource {
  /** The path, or s3://BUCKET/KEY. */
  label: string;
  open(): Promise<Readable>;
  /** For a stored snapshot: its manifest, or undefined if it has none. */
  manifest?: SnapshotManifest | undefined;
  stored: boolean;
}

interface ArchiveReading {
  facts: ArchiveFacts;
  size: number;
  sha256: string;
  keys: StateKeyCounts | { error: string };
}

async function inspectSnapshot(target: string, flags: Flags): Promise<number> {
  if (existsSync(target)) {
    if (!statSync(target).isFile()) throw new UsageError(`vsnap snapshots inspect: ${target} is not a file`);
    return inspectSource(
      { label: target, open: () => Promise.resolve(createReadStream(target)), stored: false },
      flags,
    );
  }
  const { config, cluster } = clusterContext('inspect', flags.cluster);
  const { bucket, key } = storedLocation(target, cluster);
  return withStore('inspect', config, async (store) => {
    let manifest: SnapshotManifest | undefined;
    try {
      manifest = await store.readManifest(bucket, key);
    } catch (err) {
      return fail(flags, `s3://${bucket}/${key}`, `cannot read its manifest: ${errorText(err)}`);
    }
    const source: ArchiveSource = {
      label: `s3://${bucket}/${key}`,
      stored: true,
      manifest,
      open: async () => (await store.openSnapshot(bucket, key)).body,
    };
    return inspectSource(source, flags);
  });
}

async function inspectSource(source: ArchiveSource, flags: Flags): Promise<number> {
  let reading: ArchiveReading;
  try {
    reading = await readArchive(await source.open());
  } catch (err) {
    if (err instanceof S3ServiceException && err.name === 'NoSuchKey') {
      return fail(flags, source.label, 'no such local file, and no such object in S3');
    }
    return fail(flags, source.label, errorText(err));
  }
  // A snapshot without a manifest is reported as incomplete, not as a mismatch.
  const manifestProblem = source.manifest ? manifestMismatch(reading, source.manifest) : undefined;
  const keysProblem = 'error' in reading.keys ? reading.keys.error : undefined;
  if (flags.json) {
    printJson({
      source: source.label,
      // The archive passed every check (and matches its manifest); keys.error is reported apart.
      valid: manifestProblem === undefined,
      size: reading.size,
      sha256: reading.sha256,
      raft: {
        index: reading.facts.raftIndex,
        term: reading.facts.raftTerm,
        version: reading.facts.raftVersion,
        configurationIndex: reading.facts.configurationIndex,
        size: reading.facts.stateSize,
      },
      metaSha256: reading.facts.metaSha256,
      stateSha256: reading.facts.stateSha256,
      ...(source.stored ? { manifest: manifestSummary(source.manifest, manifestProblem) } : {}),
      keys: reading.keys,
    });
  } else {
    printInspection(source, reading, manifestProblem);
  }
  if (manifestProblem) console.error(`vsnap snapshots inspect: ${source.label}: ${manifestProblem}`);
  if (keysProblem) console.error(`vsnap snapshots inspect: ${source.label}: ${keysProblem}`);
  return manifestProblem || keysProblem ? ExitCode.runFailed : ExitCode.ok;
}

/**
 * One pass over the archive: SHA-256 of the whole file, the validator's checks, and state.bin's
 * keys counted as they pass. Memory stays bounded whatever the snapshot's size.
 */
async function readArchive(body: Readable): Promise<ArchiveReading> {
  const counter = new StateKeyCounter();
  const validator = new SnapshotArchiveValidator({ onStateChunk: (chunk) => counter.write(chunk) });
  const hash = createHash('sha256');
  let size = 0;
  let invalid = false;
  validator.facts.catch(() => (invalid = true));
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
      if (invalid) break; // the verdict is in; no need to read the rest
      if (!validator.input.write(chunk)) await validator.drained();
    }
  } catch (err) {
    // A broken archive can also surface as a failed wait for the validator; report the archive.
    if (!(err instanceof ArchiveInvalidError)) validator.input.destroy();
    throw err;
  }
  validator.input.end();
  const facts = await validator.facts;
  let keys: ArchiveReading['keys'];
  try {
    keys = counter.result();
  } catch (err) {
    if (!(err instanceof StateFormatError)) throw err;
    keys = { error: err.message };
  }
  return { facts, size, sha256: hash.digest('hex'), keys };
}

function manifestSummary(manifest: SnapshotManifest | undefined, problem: string | undefined) {
  if (!manifest) return { present: false };
  return {
    present: true,
    matches: problem === undefined,
    sha256: manifest.sha256,
    size: manifest.size,
    workflowId: manifest.workflowId,
    createdAt: manifest.createdAt,
  };
}

function printInspection(source: ArchiveSource, r: ArchiveReading, manifestProblem: string | undefined): void {
  const rows: [string, string][] = [
    ['Archive', source.label],
    ['Valid', 'yes (gzip, tar entries, SHA256SUMS, state.bin size)'],
    ['Size', `${r.size} bytes`],
    ['SHA-256', r.sha256],
    ['Index', String(r.facts.raftIndex)],
    ['Term', String(r.facts.raftTerm)],
    ['Version', String(r.facts.raftVersion)],
    ['State size', `${r.facts.stateSize} bytes`],
    ['Config index', String(r.facts.configurationIndex)],
  ];
  if (source.stored) {
    const manifest = source.manifest;
    rows.push([
      'Manifest',
      !manifest
        ? 'none: incomplete backup (not a valid backup)'
        : manifestProblem
          ? 'MISMATCH (see below)'
          : `matches (backup ${manifest.workflowId})`,
    ]);
  }
  if ('error' in r.keys) rows.push(['Keys', 'unreadable (see below)']);
  else rows.push(['Keys', String(r.keys.totalKeys)]);
  for (const [k, v] of rows) console.log(`${k.padEnd(13)} ${v}`);
  if ('error' in r.keys) return;
  console.log('');
  printTable(
    ['KEY PREFIX', 'COUNT'],
    r.keys.byPrefix.map((p) => [p.prefix, String(p.count)]),
  );
}

function fail(flags: Flags, label: string, problem: string): number {
  if (flags.json) printJson({ source: label, valid: false, error: problem });
  console.error(`vsnap snapshots inspect: ${label}: ${problem}`);
  return ExitCode.runFailed;
}
