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

/**
 * Node's codes for a listener that requires mutual TLS and did not get a client certificate it
 * accepts: TLS 1.3 alerts "certificate required" when none was sent; "unknown CA" and "bad
 * certificate" (also TLS 1.2's answer to none) when the one sent is from another CA or not made
 * for client authentication.
 */
const CLIENT_CERT_REFUSED = new Set([
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
]);

function transportHint(code: string): string {
  if (TLS_TRUST_ERRORS.has(code)) {
    return `${code} (Vault's TLS certificate is not trusted: set the cluster's "caCertFile" (VAULT_CACERT) to the CA that signed it)`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return (
      `${code} (Vault's certificate does not cover the host dialled: set the cluster's "tlsServerName" ` +
      "(VAULT_TLS_SERVER_NAME) to a name it does cover, such as the active service's DNS name)"
    );
  }
  if (CLIENT_CERT_REFUSED.has(code)) {
    return (
      `${code} (Vault requires a client certificate it trusts (mutual TLS): set the cluster's "clientCertFile" and ` +
      '"clientKeyFile" (VAULT_CLIENT_CERT, VAULT_CLIENT_KEY) to a client certificate signed by the CA Vault\'s ' +
      'listener trusts (tls_client_ca_file))'
    );
  }
  if (code === 'ECONNRESET' || code === 'EPROTO') {
    return `${code} (the connection was cut: check the cluster's "address", and "clientCertFile"/"clientKeyFile" if Vault requires mutual TLS)`;
  }
  return `${code} (cannot reach Vault: check the cluster's "address" and that the worker can reach it)`;
}

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
    errors.push(transportHint(code));
  }
  return new VaultRequestError(operation, address, status, errors);
}
