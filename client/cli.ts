// What every vsnap command shares: the command shape, exit codes, usage errors and the
// connection flags (named as in the Temporal CLI).
import { parseArgs, type ParseArgsConfig } from 'node:util';

export const ExitCode = { ok: 0, runFailed: 1, usage: 2 } as const;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A command's flags, as node:util parseArgs takes them. */
export type CommandOptions = NonNullable<ParseArgsConfig['options']>;

export interface Command {
  name: string;
  synopsis: string;
  help: string;
  /** The flags it parses: the same object feeds `vsnap completion`, so completion offers exactly these. */
  options: CommandOptions;
  /** The words it takes as its first argument (`vsnap schedule apply`), for completion. */
  subcommands?: readonly string[];
  run(argv: string[]): Promise<number>;
}

export const CONNECTION_OPTIONS = {
  address: { type: 'string' },
  namespace: { type: 'string' },
  'task-queue': { type: 'string' },
  profile: { type: 'string' },
  'codec-endpoint': { type: 'string' },
  'codec-auth': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies CommandOptions;

export const CONNECTION_HELP = `Connection (as in the temporal CLI):
  --address HOST:PORT   Temporal frontend (env TEMPORAL_ADDRESS, default 127.0.0.1:7233)
  --namespace NAME      Temporal namespace (env TEMPORAL_NAMESPACE, default "default")
  --task-queue NAME     vsnap worker task queue (env VSNAP_TASK_QUEUE, default "vsnap")
  --profile NAME        a profile of the Temporal CLI's TOML config (env TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE)
  TLS and Temporal Cloud: env TEMPORAL_API_KEY, TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH,
  TEMPORAL_TLS_CLIENT_KEY_PATH, ... exactly as the temporal CLI reads them.

Encrypted payloads (when the worker encrypts them; as the temporal CLI's codec flags):
  --codec-endpoint URL  encode and decode through this codec server ("vsnap codec-server"), with no
                        keys here (env VSNAP_CODEC_ENDPOINT); wins over local keys when both are set
  --codec-auth VALUE    the Authorization header sent to it, e.g. "Bearer $TOKEN" (env VSNAP_CODEC_AUTH;
                        prefer the env var: a flag shows in ps and shell history); never printed
  Or local keys, read as the worker reads them: VSNAP_CODEC_KEYS_FILE, VSNAP_CODEC_KEYS, VSNAP_CODEC_KEYS_KMS_CIPHERTEXT.

Output:
  --json                machine-readable JSON on stdout
  -h, --help            this help`;

/** parseArgs with errors turned into UsageErrors that name the command. */
export function parseCommandArgs<T extends CommandOptions>(
  command: string,
  argv: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError(`vsnap ${command}: ${(err as Error).message}; see "vsnap ${command} --help"`);
  }
}

/** Runs a workflow input validator, turning its failure into a usage error (exit 2) before any run starts. */
export function validInput<T>(command: string, parse: (raw: unknown) => T, raw: unknown): T {
  try {
    return parse(raw);
  } catch (err) {
    throw new UsageError(`vsnap ${command}: ${(err as Error).message}`);
  }
}

/** A numeric flag as a number; a non-number stays as given so validation names it. */
export function numberFlag(raw: string | undefined): number | string | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  return raw.trim() !== '' && Number.isFinite(n) ? n : raw;
}

/** Copies the flags that were given, under the input field names they map to. */
export function givenFields(pairs: [field: string, value: unknown][]): Record<string, unknown> {
  return Object.fromEntries(pairs.filter(([, v]) => v !== undefined && v !== false));
}

/**
 * Writes to stdout and resolves once the text is handed over: the CLI exits right after a
 * command returns, and a pipe may still be taking a long output (asynchronous on macOS).
 */
export function writeStdout(text: string): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(text, (err) => (err ? reject(err) : resolve())));
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
