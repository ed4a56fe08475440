// What the stack writes into prod and drill before any data: KV v2 at `secret/` with a few
// secrets, the snapshot-agent AppRole and its policy (deploy/vault/snapshot-agent-policy.hcl).
// Idempotent, so `stack:up` runs it every time. prod's real-shaped data is prod-data.ts.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VaultHttp } from '../../activities/vault/vault-http';
import { repoRoot } from './layout';
import { activeNode, type AppRoleCredentials, baoDir, writeSecretFile } from './openbao';

export async function idempotent(call: Promise<unknown>, alreadyDoneMessage: RegExp): Promise<void> {
  try {
    await call;
  } catch (err) {
    if (!(err instanceof Error) || !alreadyDoneMessage.test(err.message)) throw err;
  }
}

export const SEED_SECRETS: Record<string, Record<string, string>> = {
  'apps/billing/database': { username: 'billing', password: 'seed-billing-db-password' },
  'apps/billing/stripe': { api_key: 'seed-stripe-key' },
  'apps/web/session': { signing_key: 'seed-web-session-key' },
  'infra/ci/deploy': { token: 'seed-ci-deploy-token' },
  'infra/dns/route53': { access_key: 'seed-route53-access' },
};

/** KV v2 at `secret/`, as the cron-job procedure's cluster has it. */
async function enableKvV2(vault: VaultHttp, token: string): Promise<void> {
  await idempotent(
    vault.request('enable KV v2', {
      method: 'POST',
      path: '/sys/mounts/secret',
      json: { type: 'kv', options: { version: '2' } },
      token,
    }),
    /already in use/,
  );
}

/** The prod cluster's seed: idempotent, so `stack:up` can run it every time. */
export async function seedProd(rootToken: string): Promise<AppRoleCredentials> {
  const vault = await activeNode('prod');
  const as = { token: rootToken };
  await enableKvV2(vault, rootToken);
  await idempotent(
    vault.request('enable AppRole', { method: 'POST', path: '/sys/auth/approle', json: { type: 'approle' }, ...as }),
    /already in use/,
  );
  // The shipped policies: the backup's, and the one `vsnap recover` needs on the paths it may recover.
  for (const [name, file] of [
    ['snapshot-agent', 'snapshot-agent-policy.hcl'],
    ['vsnap-recover', 'recover-policy.hcl'],
  ]) {
    const policy = readFileSync(join(repoRoot, 'deploy', 'vault', file), 'utf8');
    await vault.request('write policy', { method: 'PUT', path: `/sys/policies/acl/${name}`, json: { policy }, ...as });
  }
  await vault.request('write AppRole role', {
    method: 'POST',
    path: '/auth/approle/role/snapshot-agent',
    json: {
      token_policies: ['snapshot-agent', 'vsnap-recover'],
      token_no_default_policy: true,
      // A backup takes minutes; a token that outlives a killed worker by at most this long.
      token_ttl: '15m',
      token_max_ttl: '1h',
    },
    ...as,
  });
  for (const [path, data] of Object.entries(SEED_SECRETS)) {
    await vault.request('write seed secret', { method: 'POST', path: `/secret/data/${path}`, json: { data }, ...as });
  }

  const credsFile = join(baoDir('prod'), 'approle.json');
  if (existsSync(credsFile)) return JSON.parse(readFileSync(credsFile, 'utf8')) as AppRoleCredentials;
  const role = await vault.request<{ data: { role_id: string } }>('read role id', {
    method: 'GET',
    path: '/auth/approle/role/snapshot-agent/role-id',
    ...as,
  });
  const secret = await vault.request<{ data: { secret_id: string } }>('create secret id', {
    method: 'POST',
    path: '/auth/approle/role/snapshot-agent/secret-id',
    ...as,
  });
  const creds = { roleId: role.data.role_id, secretId: secret.data.secret_id };
  writeSecretFile(credsFile, JSON.stringify(creds));
  return creds;
}

/** The drill cluster starts as an empty cluster with the same KV layout; drills restore prod over it. */
export async function seedDrill(rootToken: string): Promise<void> {
  await enableKvV2(await activeNode('drill'), rootToken);
}
