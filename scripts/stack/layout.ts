// Where the local stack lives on disk and which loopback ports it uses. One place, so the
// stack script, the demo and the tests agree.
import { join, resolve } from 'node:path';

export type SealType = 'shamir' | 'static';
export const SEAL_TYPES: readonly SealType[] = ['shamir', 'static'];

export const repoRoot = resolve(__dirname, '..', '..');
export const stackDir = join(repoRoot, '.stack');
export const toolsBin = join(repoRoot, '.tools', 'venv', 'bin');
export const envFile = join(stackDir, 'env');
export const configFile = join(stackDir, 'vsnap.config.json');
export const codecKeysFile = join(stackDir, 'codec-keys.json');

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new Error(`${name}=${raw} is not a TCP port; unset it or give a number between 1 and 65535`);
  }
  return value;
}

export const ports = {
  temporal: port('VSNAP_STACK_TEMPORAL_PORT', 7233),
  temporalUi: port('VSNAP_STACK_TEMPORAL_UI_PORT', 8233),
  moto: port('VSNAP_STACK_MOTO_PORT', 5055),
  prod: port('VSNAP_STACK_PROD_PORT', 8200),
  drill: port('VSNAP_STACK_DRILL_PORT', 8210),
};

/** The two OpenBao clusters of the stack: `prod` is backed up, `drill` is where restores are rehearsed. */
export const baoClusters = ['prod', 'drill'] as const;
export type BaoClusterName = (typeof baoClusters)[number];

export const aws = {
  region: 'eu-west-3',
  accessKeyId: 'vsnap-local',
  secretAccessKey: 'vsnap-local-secret',
  bucket: 'eu-west-3-vsnap-snapshots',
  kmsAlias: 'alias/vsnap-snapshots',
  // The seed's secret: the backup's AppRole credentials, Vault address and bucket.
  agentSecretId: 'security/vault/vault-snapshot',
  // A separate secret with the key shares a restore needs (the seed's `recovery_key`).
  keySharesSecretId: (cluster: string) => `security/vault/${cluster}/key-shares`,
};
