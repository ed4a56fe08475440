// The schedules file (YAML or JSON, kept in Git, applied by `vsnap schedule apply`), as one
// schema: it validates the file (client/schedules/schedule-file.ts) and generates
// schemas/vsnap-schedules.schema.json for editors (npm run schemas). What a schema cannot say
// runs after it, in schedule-file.ts: each cron expression in detail (client/schedules/cron.ts,
// which accepts what the Temporal server accepts), unique ids, clusters the worker config knows,
// cron or every but not both, and each input by its workflow's own validator.
import { z } from 'zod';
import { NAME_PATTERN } from './cluster-schema';
import { requiredText, unionError } from './schema-problems';

type ScheduleKind = 'backup' | 'verify';

/** The cron-job procedure's rhythm: a backup every 6 hours, a restore drill weekly, in UTC. */
export const DEFAULT_CRON: Record<ScheduleKind, string> = { backup: '0 */6 * * *', verify: '0 3 * * 1' };

const DURATION_RULE = 'must be a duration such as 5m or 1h';
const duration = (fallback: string, description: string) =>
  z
    .string({ error: DURATION_RULE })
    .regex(/^\d+(ms|s|m|h|d)$/, { error: DURATION_RULE })
    .default(fallback)
    .describe(`${description} (default ${fallback}).`);

const pauseOnFailure = (fallback: boolean) =>
  z
    .boolean({ error: 'must be true or false' })
    .default(fallback)
    .describe(`Pause the schedule after a failed run, until someone looks (default ${fallback}).`);

// Temporal rounds intervals to whole seconds, so `every` takes no milliseconds.
const EVERY_RULE = 'must be a duration like 30s, 5m or 1h (whole seconds, at least 1s)';

const CRON_DESCRIPTION =
  'When the schedule runs: a cron expression or a list of them, in UTC unless prefixed with ' +
  'CRON_TZ=<IANA zone>. Temporal reads 5 fields (minute hour day-of-month month day-of-week), ' +
  '6 (the same and a YEAR: the 6th field is not seconds) or 7 (second, the five, year); ' +
  '@hourly, @daily, @weekly, @monthly, @yearly; @every <duration>[/<offset>]; a # comment. ' +
  'vsnap checks each expression in detail after this schema, as the Temporal server would ' +
  "(client/schedules/cron.ts). Give either cron or every; with neither, the kind's default.";

const cronExpression = z
  .string({ error: 'must be a cron expression such as "0 3 * * *"' })
  .min(1, { error: 'must be a cron expression such as "0 3 * * *"' });

/** The fields both kinds share; the kinds differ in their defaults and in what `input` takes. */
export const ScheduleFieldsSchema = z.strictObject({
  id: requiredText('the schedule id, e.g. backup-prod')
    .regex(NAME_PATTERN, { error: 'must be lowercase letters, digits and dashes (at most 63), e.g. "backup-prod"' })
    .describe('The Temporal schedule id (unique in the file), e.g. backup-prod.'),
  kind: z.enum(['backup', 'verify']).describe('What each run starts: a backup, or a restore drill (verify).'),
  cluster: requiredText('a cluster of the worker config')
    .regex(NAME_PATTERN, { error: 'must be the name of a cluster of the worker config' })
    .describe("The cluster, by its name in the worker's config file."),
  cron: z
    .union([cronExpression, z.array(cronExpression)], { error: 'must be a cron expression or a list of them' })
    .optional()
    .describe(CRON_DESCRIPTION)
    .meta({ examples: ['0 */6 * * *', 'CRON_TZ=Europe/Paris 0 3 * * 1', ['0 1 * * *', '0 13 * * *']] }),
  every: z
    .string({ error: EVERY_RULE })
    .regex(/^\d+(s|m|h|d)$/, { error: EVERY_RULE, abort: true })
    .regex(/[1-9]/, { error: 'must be at least 1s' })
    .optional()
    .describe('A fixed interval instead of cron, e.g. 30m (whole seconds, at least 1s).'),
  jitter: duration('5m', 'Random delay added to each run, so that many clusters do not snapshot at the same second'),
  catchupWindow: duration('1h', 'How late a missed run (e.g. Temporal was down) may still start'),
  pauseOnFailure: pauseOnFailure(false),
  paused: z.boolean({ error: 'must be true or false' }).default(false).describe('Create or keep the schedule paused.'),
  note: z.string({ error: 'must be a string' }).optional().describe("The schedule's note, shown by Temporal."),
  input: z
    .record(z.string(), z.unknown(), { error: 'must be a mapping of extra workflow input fields' })
    .default({})
    .describe('Extra workflow input.'),
});

const { shape } = ScheduleFieldsSchema;

const BackupScheduleSchema = ScheduleFieldsSchema.extend({
  kind: z.literal('backup').describe('Each run backs the cluster up.'),
  input: shape.input.describe(
    'Extra backup input, checked by the backup workflow itself (workflows/backup-input.ts), e.g. { keep: 28 }.',
  ),
}).describe(`A backup schedule (default cron "${DEFAULT_CRON.backup}").`);

const VerifyScheduleSchema = ScheduleFieldsSchema.extend({
  kind: z.literal('verify').describe('Each run restores the latest snapshot into a drill target and checks it.'),
  jitter: duration('10m', 'Random delay added to each run'),
  catchupWindow: duration('6h', 'How late a missed run (e.g. Temporal was down) may still start'),
  pauseOnFailure: pauseOnFailure(true),
  input: shape.input.describe(
    'Extra verify input, checked by the verify workflow itself (workflows/restore-input.ts), e.g. { maxAgeDays: 8 }.',
  ),
}).describe(`A restore drill schedule (default cron "${DEFAULT_CRON.verify}").`);

export const ScheduleSchema = z.discriminatedUnion('kind', [BackupScheduleSchema, VerifyScheduleSchema], {
  error: unionError({ invalidType: 'a mapping with id, kind, cluster' }),
});

const SCHEDULES_LIST = 'needs a "schedules:" list';

export const SchedulesFileSchema = z
  .strictObject(
    {
      $schema: z.string().optional().describe('The JSON Schema editors check this file against; vsnap ignores it.'),
      schedules: z.array(ScheduleSchema, { error: SCHEDULES_LIST }).describe('The schedules vsnap keeps in Temporal.'),
    },
    { error: (issue) => (issue.code === 'invalid_type' ? SCHEDULES_LIST : undefined) },
  )
  .meta({
    title: 'vsnap schedules',
    description:
      'Backup and restore-drill schedules, applied with `vsnap schedule apply <file> [--prune]`: ' +
      'Temporal Schedules are made to match the file.',
  });

export type ScheduleEntry = z.output<typeof ScheduleSchema>;
