// Key shares (Shamir unseal keys or auto-unseal recovery keys) from a key source: AWS Secrets
// Manager (the cron-job procedure's `recovery_key` secret), a mounted file, or an environment variable.
// They are read inside the activity that uses them and never returned from it.
import { readFile } from 'node:fs/promises';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { KeySourceConfig } from '../../config/cluster-schema';

export interface KeyShares {
  keys: string[];
  /** How many shares unseal or authorise; undefined means "feed them until complete". */
  threshold?: number;
}

export class KeySharesUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeySharesUnavailableError';
  }
}

export function describeKeySource(source: KeySourceConfig): string {
  switch (source.source) {
    case 'secretsManager':
      return `Secrets Manager secret ${source.secretId}`;
    case 'file':
      return `file ${source.path}`;
    case 'env':
      return `environment variable ${source.name}`;
  }
}

export async function loadKeyShares(
  source: KeySourceConfig,
  deps: { secretsManager: SecretsManagerClient; env: NodeJS.ProcessEnv },
): Promise<KeyShares> {
  const where = describeKeySource(source);
  let text: string | undefined;
  try {
    if (source.source === 'secretsManager') {
      text = (await deps.secretsManager.send(new GetSecretValueCommand({ SecretId: source.secretId }))).SecretString;
    } else if (source.source === 'file') {
      text = await readFile(source.path, 'utf8');
    } else {
      text = deps.env[source.name];
    }
  } catch (err) {
    const name = (err as { name?: string; code?: string }).code ?? (err as { name?: string }).name ?? 'error';
    throw new KeySharesUnavailableError(
      `cannot read key shares from ${where} (${name}); check it exists and the worker may read it`,
    );
  }
  if (!text) throw new KeySharesUnavailableError(`${where} is empty; it must hold the cluster's key shares`);
  return parseKeyShares(text, where);
}

/**
 * Accepts the shapes operators already have: vsnap's `{keys, threshold}`, the cron-job procedure's
 * `{recovery_key}`, the output of `vault/bao operator init -format=json`
 * (`unseal_keys_b64` / `recovery_keys_b64`), or one share per line.
 */
export function parseKeyShares(text: string, where: string): KeyShares {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    const lines = text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    if (lines.length > 0 && lines.every((l) => /^[A-Za-z0-9+/=_-]+$/.test(l))) return { keys: lines };
    throw new KeySharesUnavailableError(`${where} is neither JSON nor one key share per line`);
  }
  const o = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  const list = (v: unknown) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined);
  const keys =
    list(o.keys) ??
    list(o.recovery_keys_b64) ??
    list(o.unseal_keys_b64) ??
    (typeof o.recovery_key === 'string' ? [o.recovery_key] : undefined);
  if (!keys || keys.length === 0) {
    throw new KeySharesUnavailableError(
      `${where} holds no key shares; expected {"keys":[...]}, {"recovery_key":"..."} or "bao operator init -format=json" output`,
    );
  }
  const threshold =
    typeof o.threshold === 'number'
      ? o.threshold
      : typeof o.unseal_threshold === 'number'
        ? o.unseal_threshold
        : typeof o.recovery_keys_threshold === 'number'
          ? o.recovery_keys_threshold
          : undefined;
  return { keys, ...(threshold !== undefined ? { threshold } : {}) };
}
