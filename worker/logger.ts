// pino JSON logs with redaction of every field that may hold a secret, wherever it nests.
import pino, { type Logger } from 'pino';
import { REDACTED } from '../activities/secret-scrubber';

const SECRET_FIELDS = [
  'token',
  'client_token',
  'clientToken',
  'secret_id',
  'secretId',
  'role_id',
  'roleId',
  'otp',
  'encoded_token',
  'encoded_root_token',
  'root_token',
  'rootToken',
  'keys',
  'keys_base64',
  'recovery_keys',
  'recovery_key',
  'unseal_keys',
  'key',
  'jwt',
  'password',
  'APPROLE_SECRET_ID',
  'APPROLE_ROLE_ID',
  'X-Vault-Token',
  'x-vault-token',
  'authorization',
];

/** Redaction paths: each field at the top level and up to three levels down. */
export const REDACT_PATHS = SECRET_FIELDS.flatMap((f) => {
  const field = /^[A-Za-z_$][\w$]*$/.test(f) ? f : `["${f}"]`;
  const dot = field.startsWith('[') ? '' : '.';
  return [field, `*${dot}${field}`, `*.*${dot}${field}`, `*.*.*${dot}${field}`];
});

export function createLogger(level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'vsnap-worker' },
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
