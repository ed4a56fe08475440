// TLS for a throwaway server on loopback: a CA made for this one server and a certificate it
// issues for 127.0.0.1. The CA's private key never leaves this function, so once the server is
// gone nothing can be made to chain to a CA some client was told to trust.
//
// Built without openssl or an npm X.509 library: the worker image carries neither, and the two
// certificates need only a handful of DER types, encoded below (RFC 5280 profile, ITU-T X.690 DER).
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';

export interface ThrowawayTls {
  caPem: string;
  certPem: string;
  /** The server's private key, PKCS#8 ("PRIVATE KEY") PEM. */
  keyPem: string;
}

const CA_NAME = 'vsnap throwaway drill CA';
const SERVER_IP = '127.0.0.1';
const SERVER_DNS = 'localhost';
const DEFAULT_VALID_FOR_MS = 24 * 60 * 60 * 1000;
/** notBefore is backdated so a client whose clock runs a little behind still accepts the certificate. */
const CLOCK_SKEW_MS = 60 * 1000;

const OID = {
  commonName: '2.5.4.3',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};

/** keyUsage bit positions (RFC 5280 4.2.1.3). */
const KEY_USAGE = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 };

/** A CA that exists only for one server's lifetime, and a certificate it issued for 127.0.0.1. */
export function makeThrowawayTls(options: { validForMs?: number; now?: Date } = {}): ThrowawayTls {
  const validForMs = options.validForMs ?? DEFAULT_VALID_FOR_MS;
  if (!Number.isFinite(validForMs) || validForMs <= 0) {
    throw new RangeError(`validForMs must be a positive number of milliseconds, got ${validForMs}`);
  }
  const now = options.now ?? new Date();
  const validity = sequence(
    derTime(new Date(now.getTime() - CLOCK_SKEW_MS)),
    derTime(new Date(now.getTime() + validForMs)),
  );

  const ca = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const server = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const caName = name(CA_NAME);
  const caKeyId = keyIdentifier(ca.publicKey);

  const caCert = issueCertificate({
    issuer: caName,
    subject: caName,
    validity,
    subjectKey: ca.publicKey,
    signingKey: ca.privateKey,
    extensions: [
      extension(OID.basicConstraints, true, sequence(boolean(true), integer(Buffer.from([0])))),
      extension(OID.keyUsage, true, namedBits([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign])),
      extension(OID.subjectKeyIdentifier, false, octetString(caKeyId)),
    ],
  });

  const serverCert = issueCertificate({
    issuer: caName,
    subject: name(SERVER_IP),
    validity,
    subjectKey: server.publicKey,
    signingKey: ca.privateKey,
    extensions: [
      // cA defaults to FALSE, and DER leaves out fields equal to their default: an empty SEQUENCE.
      extension(OID.basicConstraints, true, sequence()),
      extension(OID.keyUsage, true, namedBits([KEY_USAGE.digitalSignature])),
      extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth))),
      extension(
        OID.subjectAltName,
        false,
        sequence(implicit(7, ipv4Bytes(SERVER_IP)), implicit(2, Buffer.from(SERVER_DNS, 'ascii'))),
      ),
      extension(OID.authorityKeyIdentifier, false, sequence(implicit(0, caKeyId))),
    ],
  });

  return {
    caPem: pem('CERTIFICATE', caCert),
    certPem: pem('CERTIFICATE', serverCert),
    keyPem: server.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

interface CertificateFields {
  issuer: Buffer;
  subject: Buffer;
  validity: Buffer;
  subjectKey: KeyObject;
  signingKey: KeyObject;
  extensions: Buffer[];
}

/** An X.509 v3 certificate (RFC 5280 4.1), DER, signed with ECDSA over SHA-256. */
function issueCertificate(fields: CertificateFields): Buffer {
  // ECDSA AlgorithmIdentifiers carry no parameters at all, not even NULL (RFC 5758 3.2).
  const signatureAlgorithm = sequence(oid(OID.ecdsaWithSha256));
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(serialNumber()),
    signatureAlgorithm,
    fields.issuer,
    fields.validity,
    fields.subject,
    fields.subjectKey.export({ type: 'spki', format: 'der' }),
    explicit(3, sequence(...fields.extensions)),
  );
  // Node signs EC keys in DER (ECDSA-Sig-Value) by default, which is what X.509 expects.
  const signature = sign('sha256', tbs, fields.signingKey);
  return sequence(tbs, signatureAlgorithm, bitString(signature));
}

/** 16 random bytes, top bit clear so the INTEGER is positive, next bit set so DER keeps all 16 bytes. */
function serialNumber(): Buffer {
  const serial = randomBytes(16);
  serial[0] = (serial[0] & 0x7f) | 0x40;
  return serial;
}

/** SHA-1 of the public key's bits, the usual key identifier (RFC 5280 4.2.1.2, method 1). */
function keyIdentifier(publicKey: KeyObject): Buffer {
  const { x, y } = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([0x04]), Buffer.from(x!, 'base64url'), Buffer.from(y!, 'base64url')]);
  return createHash('sha1').update(point).digest();
}

function name(commonName: string): Buffer {
  return sequence(set(sequence(oid(OID.commonName), utf8String(commonName))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  // critical is BOOLEAN DEFAULT FALSE, so DER omits it when false.
  return critical ? sequence(oid(id), boolean(true), octetString(value)) : sequence(oid(id), octetString(value));
}

function ipv4Bytes(ip: string): Buffer {
  return Buffer.from(ip.split('.').map(Number));
}

/** A BIT STRING of named bits (bit 0 = most significant bit of the first byte), trailing zeros dropped as DER requires. */
function namedBits(bits: number[]): Buffer {
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[bit >> 3] |= 0x80 >> (bit & 7);
  return tlv(0x03, Buffer.concat([Buffer.from([7 - (highest & 7)]), bytes]));
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

// DER encoding of the few ASN.1 types a certificate needs.

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function sequence(...items: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(items));
}

function set(...items: Buffer[]): Buffer {
  return tlv(0x31, Buffer.concat(items));
}

function boolean(value: boolean): Buffer {
  return tlv(0x01, Buffer.from([value ? 0xff : 0x00]));
}

/** A non-negative INTEGER from its big-endian bytes, in the minimal form DER requires. */
function integer(unsigned: Buffer): Buffer {
  let start = 0;
  while (start < unsigned.length - 1 && unsigned[start] === 0) start++;
  const trimmed = unsigned.subarray(start);
  // A set top bit would read as negative (two's complement): prefix a zero byte.
  return tlv(0x02, trimmed[0] & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

function oid(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * first + second];
  for (const arc of rest) {
    // Base 128, most significant group first; every byte but the last has its top bit set.
    const base128 = [arc & 0x7f];
    for (let high = Math.floor(arc / 128); high > 0; high = Math.floor(high / 128)) {
      base128.unshift(0x80 | (high & 0x7f));
    }
    bytes.push(...base128);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function utf8String(text: string): Buffer {
  return tlv(0x0c, Buffer.from(text, 'utf8'));
}

function octetString(bytes: Buffer): Buffer {
  return tlv(0x04, bytes);
}

function bitString(bytes: Buffer): Buffer {
  return tlv(0x03, Buffer.concat([Buffer.from([0]), bytes]));
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, always Zulu. */
function derTime(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '') + 'Z';
  const year = date.getUTCFullYear();
  return year >= 1950 && year < 2050
    ? tlv(0x17, Buffer.from(digits.slice(2), 'ascii'))
    : tlv(0x18, Buffer.from(digits, 'ascii'));
}

/** [n] EXPLICIT: a constructed context tag wrapping the whole encoding. */
function explicit(tagNumber: number, encoded: Buffer): Buffer {
  return tlv(0xa0 | tagNumber, encoded);
}

/** [n] IMPLICIT over a primitive type: the context tag replaces the type's own tag. */
function implicit(tagNumber: number, content: Buffer): Buffer {
  return tlv(0x80 | tagNumber, content);
}
