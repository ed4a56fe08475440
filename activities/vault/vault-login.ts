// Logging in to Vault with the cluster's configured method, and revoking what we created.
// The token lives only inside the activity that logged in (see README "Secrets"): it is never
// an activity argument or result, so it never reaches Temporal's history.
import { readFile } from 'node:fs/promises';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { AppRoleCredentialSource, ClusterConfig } from '../../config/cluster-schema';
import { VaultRequestError } from './vault-errors';
import type { VaultHttp } from './vault-http';

export class VaultAuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VaultAuthError';
  }
}

export class CredentialsUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialsUnavailableError';
  }
}

export interface VaultSession {
  token: string;
  /** Revokes the token if vsnap created it (not a configured static token). Never throws. */
  revoke(): Promise<{ revoked: boolean; error?: string }>;
}

export interface LoginDeps {
  secretsManager: SecretsManagerClient;
  env: NodeJS.ProcessEnv;
}

interface LoginResponse {
  auth?: { client_token?: string };
}

export async function loginToVault(cluster: ClusterConfig, vault: VaultHttp, deps: LoginDeps): Promise<VaultSession> {
  const auth = cluster.auth;
  if (auth.method === 'token') {
    const token = deps.env[auth.tokenEnv];
    if (!token) {
      throw new CredentialsUnavailableError(
        `cluster ${cluster.name}: token auth needs ${auth.tokenEnv} set in the worker's environment`,
      );
    }
    return { token, revoke: () => Promise.resolve({ revoked: false }) };
  }

  let path: string;
  let body: Record<string, unknown>;
  let what: string;
  if (auth.method === 'approle') {
    const creds = await appRoleCredentials(cluster.name, auth.credentials, deps);
    path = `/auth/${auth.mount}/login`;
    body = { role_id: creds.roleId, secret_id: creds.secretId };
    what = `AppRole login (auth/${auth.mount}, credentials from ${describeSource(auth.credentials)})`;
  } else {
    const jwt = await readFile(auth.jwtPath, 'utf8').catch(() => {
      throw new CredentialsUnavailableError(
        `cluster ${cluster.name}: cannot read the service account token at ${auth.jwtPath}`,
      );
    });
    path = `/auth/${auth.mount}/login`;
    body = { role: auth.role, jwt: jwt.trim() };
    what = `Kubernetes login (auth/${auth.mount}, role ${auth.role})`;
  }

  let res: LoginResponse;
  try {
    res = await vault.request<LoginResponse>(what, { method: 'POST', path, json: body });
  } catch (err) {
    // 400/403 on login means the credentials are wrong: no retry will fix that.
    if (err instanceof VaultRequestError && (err.status === 400 || err.status === 403)) {
      throw new VaultAuthError(`${err.message}. Check the credentials of cluster ${cluster.name}`);
    }
    throw err;
  }
  const token = res.auth?.client_token;
  if (!token) throw new VaultAuthError(`${what} at ${vault.address} returned no token`);
  return {
    token,
    revoke: async () => {
      try {
        await vault.request('token revoke-self', { method: 'POST', path: '/auth/token/revoke-self', token });
        return { revoked: true };
      } catch (err) {
        return { revoked: false, error: err instanceof Error ? err.message : String(err) };
      }
    },
  };
}

function describeSource(source: AppRoleCredentialSource): string {
  return source.source === 'env'
    ? `env ${source.roleIdEnv}/${source.secretIdEnv}`
    : `Secrets Manager ${source.secretId}`;
}

async function appRoleCredentials(
  cluster: string,
  source: AppRoleCredentialSource,
  deps: LoginDeps,
): Promise<{ roleId: string; secretId: string }> {
  if (source.source === 'env') {
    const roleId = deps.env[source.roleIdEnv];
    const secretId = deps.env[source.secretIdEnv];
    if (!roleId || !secretId) {
      throw new CredentialsUnavailableError(
        `cluster ${cluster}: AppRole login needs ${source.roleIdEnv} and ${source.secretIdEnv} in the worker's environment`,
      );
    }
    return { roleId, secretId };
  }
  let text: string | undefined;
  try {
    text = (await deps.secretsManager.send(new GetSecretValueCommand({ SecretId: source.secretId }))).SecretString;
  } catch (err) {
    const name = (err as { name?: string }).name ?? 'error';
    throw new CredentialsUnavailableError(
      `cluster ${cluster}: cannot read Secrets Manager secret ${source.secretId} (${name}); check the name and the worker's IAM permissions`,
    );
  }
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text ?? '') as Record<string, unknown>;
  } catch {
    /* reported below without echoing the secret's content */
  }
  const roleId = parsed.APPROLE_ROLE_ID;
  const secretId = parsed.APPROLE_SECRET_ID;
  if (typeof roleId !== 'string' || typeof secretId !== 'string') {
    throw new CredentialsUnavailableError(
      `cluster ${cluster}: Secrets Manager secret ${source.secretId} must be JSON with APPROLE_ROLE_ID and APPROLE_SECRET_ID`,
    );
  }
  return { roleId, secretId };
}
