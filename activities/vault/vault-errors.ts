// Vault answers errors with JSON bodies that can carry tokens (a login response, a wrapped
// secret). So an error from the Vault layer keeps only the HTTP status and Vault's own
// `errors` strings, never a body, and those strings go through the secret scrubber too.
import { scrubSecrets } from '../secret-scrubber';

export class VaultRequestError extends Error {
  constructor(
    readonly operation: string,
    readonly address: string,
    readonly status: number | undefined,
    readonly vaultErrors: string[],
  ) {
    const detail = vaultErrors.length > 0 ? vaultErrors.join('; ') : status ? `HTTP ${status}` : 'no response';
    super(scrubSecrets(`Vault ${operation} at ${address} failed: ${detail}`));
    this.name = 'VaultRequestError';
  }
}

/** Node's codes for a certificate chain it does not trust. */
const TLS_TRUST_ERRORS = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
]);

interface ResponseLike {
  response?: { statusCode?: number; body?: unknown };
  code?: string;
  message?: string;
}

/** Turns whatever node-vault or axios threw into a VaultRequestError that is safe to log. */
export function toVaultRequestError(operation: string, address: string, err: unknown): VaultRequestError {
  const e = (err ?? {}) as ResponseLike;
  const status = e.response?.statusCode;
  const body = e.response?.body as { errors?: unknown } | undefined;
  const errors = Array.isArray(body?.errors) ? body.errors.filter((x): x is string => typeof x === 'string') : [];
  if (status === undefined && errors.length === 0) {
    // A transport failure: the code (ECONNREFUSED, ETIMEDOUT, a TLS verdict) is what an operator needs.
    const code = e.code ?? e.message ?? 'unknown transport error';
    errors.push(
      TLS_TRUST_ERRORS.has(code)
        ? `${code} (Vault's TLS certificate is not trusted: set the cluster's "caCertFile" (VAULT_CACERT) ` +
            'to the CA that signed it)'
        : `${code} (cannot reach Vault: check the cluster's "address" and that the worker can reach it)`,
    );
  }
  return new VaultRequestError(operation, address, status, errors);
}
