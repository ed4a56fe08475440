// A private certificate authority made with the openssl CLI, as a company's internal PKI
// would issue Vault's certificates: the stack's OpenBao listeners and the tests' scratch
// servers get certificates no public CA vouches for, so every client must be told what to trust.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PrivateCa {
  dir: string;
  /** The CA's certificate: what a client trusts (`caCertFile`). */
  caFile: string;
  caPem: string;
}

export interface IssuedCertificate {
  certFile: string;
  keyFile: string;
}

function openssl(dir: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new Error(`openssl ${args[0]} failed (is the openssl CLI installed?): ${String(err)}`);
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** The CA in `dir`, created on first use and kept afterwards (clients keep trusting it). */
export function ensurePrivateCa(dir: string, days = 825): PrivateCa {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caFile = join(dir, 'ca.pem');
  if (!existsSync(caFile)) {
    openssl(
      dir,
      ['req', '-x509', ...EC_KEY, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', String(days)].concat([
        '-subj',
        '/CN=vsnap private CA',
      ]),
    );
  }
  return { dir, caFile, caPem: readFileSync(caFile, 'utf8') };
}

/**
 * A certificate signed by `ca` for the given DNS names and IP addresses (its SANs: what a
 * client checks the host it dialled, or its TLS server name, against). `usage: 'client'`
 * makes a certificate for mutual TLS instead of a server's.
 */
export function issueCertificate(
  ca: PrivateCa,
  name: string,
  sans: { dns?: string[]; ips?: string[] },
  usage: 'server' | 'client' = 'server',
  days = 825,
): IssuedCertificate {
  const certFile = join(ca.dir, `${name}.pem`);
  const keyFile = join(ca.dir, `${name}.key`);
  if (existsSync(certFile) && existsSync(keyFile)) return { certFile, keyFile };
  const altNames = [...(sans.dns ?? []).map((d) => `DNS:${d}`), ...(sans.ips ?? []).map((ip) => `IP:${ip}`)];
  const extensions = [
    ...(altNames.length ? [`subjectAltName=${altNames.join(',')}`] : []),
    `extendedKeyUsage=${usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
  ];
  writeFileSync(join(ca.dir, `${name}.ext`), extensions.join('\n') + '\n');
  openssl(ca.dir, ['req', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  openssl(ca.dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    String(days),
    '-extfile',
    `${name}.ext`,
  ]);
  return { certFile, keyFile };
}
