// VSNAP_AWS_CALL_LOG=/path/to/aws-calls.jsonl: every AWS call vsnap makes (the worker, the
// `vsnap snapshots` commands, the KMS decryption of codec keys) is appended to that file as one
// JSON line: time, actor, service, operation, region, outcome, and the request values IAM decides
// on (bucket, key, prefix, KMS key, secret id, encryption headers). An operator can audit what
// the worker's role is used for, or check a policy against real traffic; the tests judge the
// shipped IAM policies against it (test/helpers/iam-judge.ts). Bodies and secret values are
// never recorded: fields are copied from an allow-list, not filtered out of the request.
import { appendFileSync } from 'node:fs';

export const AWS_CALL_LOG_ENV = 'VSNAP_AWS_CALL_LOG';

/** Request fields IAM maps to a resource or a condition key. */
const REQUEST_FIELDS = [
  'Bucket',
  'Key',
  'Prefix',
  'Delimiter',
  'MaxKeys',
  'VersionId',
  'ServerSideEncryption',
  'SSEKMSKeyId',
  'ChecksumAlgorithm',
  'ObjectLockMode',
  'ObjectLockRetainUntilDate',
  'KeyId',
  'SecretId',
  'VersionStage',
  // CopyObject and UploadPartCopy read the source ("bucket/key") with the caller's permissions.
  'CopySource',
  'CopySourceRange',
  // sts:AssumeRole (a storage copy's role in another account).
  'RoleArn',
  'RoleSessionName',
  'ExternalId',
] as const;

/**
 * Response fields that name what the call touched when the request did not: the KMS key S3
 * used on the caller's behalf (SSE-KMS needs the caller's kms permissions), the key a Decrypt
 * ciphertext named, the full secret ARN with its random suffix.
 */
const RESPONSE_FIELDS = [
  'ServerSideEncryption',
  'SSEKMSKeyId',
  'KeyId',
  'ARN',
  'ObjectLockMode',
  'ObjectLockRetainUntilDate',
] as const;

type RequestField = (typeof REQUEST_FIELDS)[number];
type ResponseField = (typeof RESPONSE_FIELDS)[number];

export interface AwsCallRecord {
  /** When the call started (ISO 8601). */
  time: string;
  /** Who made it: "worker", "vsnap snapshots list", "worker copy offsite", ... */
  actor: string;
  /** The role whose assumed credentials made the call, when not the process's own (a copy's roleArn). */
  role?: string;
  /** "s3", "kms", "secretsmanager". */
  service: string;
  /** The API operation: "HeadBucket", "GetObject", ... */
  operation: string;
  region?: string;
  /** "ok", or the error's name or code ("NoSuchKey", "AccessDenied", "ECONNREFUSED"). */
  outcome: string;
  /** Plus `Keys` for DeleteObjects: the keys it deletes. */
  request: Partial<Record<RequestField, string | number>> & { Keys?: string[] };
  response?: Partial<Record<ResponseField, string | number>>;
}

interface HandlerArguments {
  input: object;
}

type Handler = (args: HandlerArguments) => Promise<{ output: unknown }>;

/** The part of an AWS SDK v3 client this module uses: every client has it. */
export interface LoggableClient {
  middlewareStack: {
    add(
      middleware: (next: Handler, context: { clientName?: string; commandName?: string }) => Handler,
      options: { step: 'initialize'; name: string },
    ): void;
  };
  config: { region: () => Promise<string> };
}

/**
 * Records every call `client` makes, if VSNAP_AWS_CALL_LOG names a file; otherwise does nothing.
 * `role`: the role the client's credentials are assumed from, if any.
 */
export function logAwsCalls(
  client: LoggableClient,
  actor: string,
  env: NodeJS.ProcessEnv = process.env,
  role?: string,
): void {
  awsCallLogPlugin(actor, () => client.config.region(), env, role)?.applyToStack(client.middlewareStack);
}

/**
 * The same, as a client plugin: for clients vsnap does not construct itself, such as the STS
 * client fromTemporaryCredentials makes (`clientPlugins`). Undefined when the log is off.
 */
export function awsCallLogPlugin(
  actor: string,
  region: () => Promise<string>,
  env: NodeJS.ProcessEnv = process.env,
  role?: string,
): { applyToStack(stack: LoggableClient['middlewareStack']): void } | undefined {
  const file = env[AWS_CALL_LOG_ENV];
  if (!file) return undefined;
  assertWritable(file);
  return { applyToStack: (stack) => addCallLog(stack, file, actor, region, role) };
}

function addCallLog(
  stack: LoggableClient['middlewareStack'],
  file: string,
  actor: string,
  region: () => Promise<string>,
  role: string | undefined,
): void {
  // The initialize step runs once per call, above the retry middleware: one line per call,
  // however many attempts it took.
  stack.add(
    (next, context) => async (args) => {
      const record: AwsCallRecord = {
        time: new Date().toISOString(),
        actor,
        ...(role ? { role } : {}),
        service: (context.clientName ?? 'unknown').replace(/Client$/, '').toLowerCase(),
        operation: (context.commandName ?? 'unknown').replace(/Command$/, ''),
        region: await region().catch(() => undefined),
        outcome: 'ok',
        request: requestFacts(args.input as Record<string, unknown>),
      };
      try {
        const result = await next(args);
        const response = pick(result.output as Record<string, unknown>, RESPONSE_FIELDS);
        if (Object.keys(response).length > 0) record.response = response;
        return result;
      } catch (err) {
        record.outcome = errorName(err);
        throw err;
      } finally {
        append(file, record);
      }
    },
    { step: 'initialize', name: 'vsnapAwsCallLog' },
  );
}

/** A path that cannot be written is a configuration error, reported at start rather than lost. */
function assertWritable(file: string): void {
  try {
    appendFileSync(file, '');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new Error(`${AWS_CALL_LOG_ENV}=${file} cannot be written (${reason}); fix the path or unset it`);
  }
}

/** A failed write (a full disk) warns but does not fail the AWS call, which has already run. */
function append(file: string, record: AwsCallRecord): void {
  try {
    appendFileSync(file, JSON.stringify(record) + '\n');
  } catch (err) {
    process.emitWarning(
      `${AWS_CALL_LOG_ENV}: could not record ${record.service} ${record.operation} in ${file}: ${(err as Error).message}`,
    );
  }
}

function requestFacts(input: Record<string, unknown>): AwsCallRecord['request'] {
  const facts: AwsCallRecord['request'] = pick(input, REQUEST_FIELDS);
  const objects = (input.Delete as { Objects?: { Key?: string }[] } | undefined)?.Objects;
  if (objects) facts.Keys = objects.map((o) => o.Key ?? '');
  return facts;
}

function pick<F extends string>(from: Record<string, unknown> | undefined, fields: readonly F[]) {
  const picked: Partial<Record<F, string | number>> = {};
  for (const field of fields) {
    const value = from?.[field];
    if (typeof value === 'string' || typeof value === 'number') picked[field] = value;
    // An Object Lock's retain-until date is a Date in the SDK's input and output.
    if (value instanceof Date) picked[field] = value.toISOString();
  }
  return picked;
}

/** Network errors are plain Errors whose code says what happened. */
function errorName(err: unknown): string {
  const { name, code } = (err ?? {}) as { name?: string; code?: string };
  return (name === 'Error' || !name) && code ? code : (name ?? 'Error');
}
