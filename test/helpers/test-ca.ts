// A throwaway private CA and a server certificate for 127.0.0.1, for tests that need a Vault
// behind TLS that no public CA vouches for. Same CA code as the stack's.
import { ensurePrivateCa, issueCertificate } from '../../scripts/stack/private-ca';

export interface TestCertificate {
  /** The CA's certificate (PEM): what a client must trust. */
  caPem: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}

export function makeTestCertificate(dir: string): TestCertificate {
  const ca = ensurePrivateCa(dir, 2);
  const server = issueCertificate(ca, 'server', { ips: ['127.0.0.1'] }, 'server', 2);
  return { caPem: ca.caPem, caFile: ca.caFile, ...server };
}
