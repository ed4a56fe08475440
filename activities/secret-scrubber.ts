// The last line of defence for secrets in error messages and logs: Vault token formats
// (hvs./hvb./hvr. for Vault, s./b./r. for OpenBao and older Vault) and anything that looks
// like a long base64 secret after a key word. Secrets should never reach a message in the
// first place; this makes a mistake there not become a leak.
const TOKEN_PATTERN = /\b(?:hv[sbr]|[sbr])\.[A-Za-z0-9_-]{20,}/g;
const KEYED_SECRET_PATTERN =
  /(\b"?(?:token|client_token|secret_id|secretId|otp|encoded_token|encoded_root_token|keys|keys_base64|recovery_key|unseal_key|root_token|jwt|password)"?\s*[:=]\s*"?)([^"\s,}]{8,})/gi;

export const REDACTED = '[REDACTED]';

export function scrubSecrets(text: string): string {
  return text.replace(TOKEN_PATTERN, REDACTED).replace(KEYED_SECRET_PATTERN, `$1${REDACTED}`);
}
