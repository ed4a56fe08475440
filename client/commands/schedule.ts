// vsnap schedule: Temporal Schedules as code (apply a file) and day-to-day operations on them.
import { readFileSync } from 'node:fs';
import { type Client, ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import { ConfigError, loadConfig } from '../../worker/config';
import {
  CONNECTION_HELP,
  CONNECTION_OPTIONS,
  type Command,
  type CommandOptions,
  ExitCode,
  parseCommandArgs,
  printJson,
  UsageError,
} from '../cli';
import { connectWith } from '../run-workflow';
import { applySchedules, MANAGED_BY, ScheduleConflictError } from '../schedules/apply-schedules';
import { type DesiredSchedule, parseScheduleFile, ScheduleFileError } from '../schedules/schedule-file';

const HELP = `Usage: vsnap schedule <subcommand> [flags]

Temporal Schedules for backups and restore drills, declared in a file kept in Git.

Subcommands:
  apply FILE [--prune] [--dry-run]   create missing schedules, update changed ones, print what changed;
                                     --prune deletes vsnap's schedules the file no longer lists
  list                               every schedule vsnap manages, with its next run
  describe ID                        one schedule in full
  pause ID [--note TEXT]             stop starting runs
  unpause ID [--note TEXT]           start runs again
  trigger ID                         run now (skipped if a run of it is still going: overlap SKIP)
  backfill ID --start TIME --end TIME  run the actions missed between two ISO times
  delete ID                          delete a schedule (runs already started go on)

The cluster names of a file are checked against the worker config named by VSNAP_CONFIG.

${CONNECTION_HELP}

Examples:
  vsnap schedule apply deploy/schedules/schedules.yaml --dry-run
  vsnap schedule apply deploy/schedules/schedules.yaml --prune
  vsnap schedule trigger backup-prod
  vsnap schedule backfill backup-prod --start 2026-11-27T00:00:00Z --end 2026-11-28T00:00:00Z`;

const PAST: Record<string, string> = {
  create: 'created',
  update: 'updated',
  delete: 'deleted',
  unchanged: 'unchanged',
};

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  prune: { type: 'boolean', default: false },
  'dry-run': { type: 'boolean', default: false },
  note: { type: 'string' },
  start: { type: 'string' },
  end: { type: 'string' },
} as const satisfies CommandOptions;

const SUBCOMMANDS = ['apply', 'list', 'describe', 'pause', 'unpause', 'trigger', 'backfill', 'delete'] as const;

export const scheduleCommand: Command = {
  name: 'schedule',
  synopsis: 'Manage backup and drill schedules (apply a file, list, pause, trigger, ...)',
  help: HELP,
  options: OPTIONS,
  subcommands: SUBCOMMANDS,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('schedule', argv, OPTIONS, true);
    const [sub, arg, ...extra] = positionals;
    if (!sub) throw new UsageError('vsnap schedule: give a subcommand; see "vsnap schedule --help"');
    if (extra.length > 0) throw new UsageError(`vsnap schedule ${sub}: unexpected arguments ${extra.join(' ')}`);
    const needArg = (what: string): string => {
      if (!arg) throw new UsageError(`vsnap schedule ${sub}: give the ${what}; see "vsnap schedule --help"`);
      return arg;
    };
    const print = (text: string, json: unknown) => (values.json ? printJson(json) : console.log(text));

    // Everything that can be checked offline is checked before connecting.
    let desired: DesiredSchedule[] = [];
    if (sub === 'apply') desired = readScheduleFile(needArg('schedule FILE'));
    else if (!(SUBCOMMANDS as readonly string[]).includes(sub)) {
      throw new UsageError(`vsnap schedule: unknown subcommand "${sub}"; see "vsnap schedule --help"`);
    }
    const backfill = sub === 'backfill' ? backfillRange(values.start, values.end) : undefined;

    const temporal = await connectWith(values);
    try {
      const client = temporal.client;
      switch (sub) {
        case 'apply': {
          const changes = await applySchedules(client, temporal.taskQueue, desired, {
            prune: values.prune,
            dryRun: values['dry-run'],
          });
          const verb = (a: string) => (values['dry-run'] ? `would ${a}` : (PAST[a] ?? a));
          print(
            changes.map((c) => `${verb(c.action).padEnd(14)} ${c.id}${c.detail ? `  ${c.detail}` : ''}`).join('\n') ||
              'the file lists no schedules',
            { dryRun: values['dry-run'], changes },
          );
          return ExitCode.ok;
        }
        case 'list':
          return await listSchedules(client, values.json);
        case 'describe': {
          const d = await managedHandle(client, needArg('schedule ID')).describe();
          print(JSON.stringify(d, null, 2), d);
          return ExitCode.ok;
        }
        case 'pause':
          await managedHandle(client, needArg('schedule ID')).pause(values.note ?? 'paused with vsnap');
          print(`paused ${arg}`, { scheduleId: arg, paused: true });
          return ExitCode.ok;
        case 'unpause':
          await managedHandle(client, needArg('schedule ID')).unpause(values.note ?? 'unpaused with vsnap');
          print(`unpaused ${arg}`, { scheduleId: arg, paused: false });
          return ExitCode.ok;
        case 'trigger':
          // The SDK's default for trigger is ALLOW_ALL; vsnap never runs two of one schedule at once.
          await managedHandle(client, needArg('schedule ID')).trigger(ScheduleOverlapPolicy.SKIP);
          print(`triggered ${arg}`, { scheduleId: arg, triggered: true });
          return ExitCode.ok;
        case 'backfill':
          await managedHandle(client, needArg('schedule ID')).backfill({
            ...backfill!,
            overlap: ScheduleOverlapPolicy.SKIP,
          });
          print(`backfilled ${arg} from ${backfill!.start.toISOString()} to ${backfill!.end.toISOString()}`, {
            scheduleId: arg,
            start: backfill!.start,
            end: backfill!.end,
          });
          return ExitCode.ok;
        default:
          await managedHandle(client, needArg('schedule ID')).delete();
          print(`deleted ${arg}`, { scheduleId: arg, deleted: true });
          return ExitCode.ok;
      }
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) throw new UsageError(`vsnap schedule ${sub}: no schedule "${arg}"`);
      if (err instanceof ScheduleConflictError) throw new UsageError(`vsnap schedule apply: ${err.message}`);
      throw err;
    } finally {
      await temporal.close();
    }
  },
};

function readScheduleFile(file: string) {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`vsnap schedule apply: cannot read ${file}`);
  }
  let clusters: string[];
  try {
    if (!process.env.VSNAP_CONFIG) {
      throw new UsageError(
        'vsnap schedule apply: set VSNAP_CONFIG to the worker config, so cluster names can be checked',
      );
    }
    clusters = loadConfig({ ...process.env }).clusters.map((c) => c.name);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`vsnap schedule apply: ${err.message}`);
    throw err;
  }
  try {
    return parseScheduleFile(file, text, clusters);
  } catch (err) {
    if (err instanceof ScheduleFileError) throw new UsageError(err.message);
    throw err;
  }
}

function backfillRange(start: string | undefined, end: string | undefined): { start: Date; end: Date } {
  const s = start ? new Date(start) : undefined;
  const e = end ? new Date(end) : undefined;
  if (!s || !e || Number.isNaN(s.getTime()) || Number.isNaN(e.getTime()) || s >= e) {
    throw new UsageError('vsnap schedule backfill: give --start and --end as ISO times, start before end');
  }
  return { start: s, end: e };
}

/** A handle to a schedule vsnap manages; others are refused so vsnap never touches them. */
function managedHandle(client: Client, id: string) {
  const handle = client.schedule.getHandle(id);
  const check = async () => {
    const d = await handle.describe();
    if (d.memo?.managedBy !== MANAGED_BY.managedBy) {
      throw new UsageError(`vsnap schedule: "${id}" was not created by vsnap; use the temporal CLI for it`);
    }
  };
  return {
    describe: async () => (await check(), handle.describe()),
    pause: async (note: string) => (await check(), handle.pause(note)),
    unpause: async (note: string) => (await check(), handle.unpause(note)),
    trigger: async (overlap: ScheduleOverlapPolicy) => (await check(), handle.trigger(overlap)),
    backfill: async (b: { start: Date; end: Date; overlap: ScheduleOverlapPolicy }) => (
      await check(),
      handle.backfill(b)
    ),
    delete: async () => (await check(), handle.delete()),
  };
}

async function listSchedules(client: Client, json: boolean): Promise<number> {
  const rows = [];
  for await (const s of client.schedule.list()) {
    if (s.memo?.managedBy !== MANAGED_BY.managedBy) continue;
    const d = await client.schedule.getHandle(s.scheduleId).describe();
    const action = d.action.type === 'startWorkflow' ? d.action : undefined;
    const input = (action?.args?.[0] ?? {}) as { cluster?: string };
    rows.push({
      id: s.scheduleId,
      kind: action?.workflowType ?? '-',
      cluster: input.cluster ?? '-',
      cron: typeof action?.memo?.vsnapCron === 'string' ? action.memo.vsnapCron : '-',
      every: typeof action?.memo?.vsnapEvery === 'string' ? action.memo.vsnapEvery : '-',
      paused: d.state.paused,
      nextRun: d.info.nextActionTimes[0]?.toISOString() ?? '-',
      lastRun: d.info.recentActions.at(-1)?.takenAt.toISOString() ?? '-',
    });
  }
  rows.sort((a, b) => a.id.localeCompare(b.id));
  if (json) {
    printJson(rows);
    return ExitCode.ok;
  }
  console.log(
    `${'ID'.padEnd(24)} ${'KIND'.padEnd(7)} ${'CLUSTER'.padEnd(10)} ${'PAUSED'.padEnd(7)} ${'NEXT RUN'.padEnd(25)} CRON / EVERY`,
  );
  for (const r of rows) {
    console.log(
      `${r.id.padEnd(24)} ${r.kind.padEnd(7)} ${r.cluster.padEnd(10)} ${String(r.paused).padEnd(7)} ${r.nextRun.padEnd(25)} ${r.every === '-' ? r.cron : `every ${r.every}`}`,
    );
  }
  return ExitCode.ok;
}
