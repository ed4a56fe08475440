import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { connect, createServer, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { makeThrowawayTls, type ThrowawayTls } from '../../activities/ephemeral/throwaway-tls';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

/** Serves the certificate on 127.0.0.1 (random port) while `use` runs, then closes the server. */
async function withTlsServer(tls: ThrowawayTls, use: (port: number) => Promise<void>): Promise<void> {
  const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (socket) => socket.end('hello'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await use((server.address() as AddressInfo).port);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Connects and resolves once the handshake (and certificate check) succeeds; rejects with the TLS error otherwise. */
function handshake(port: number, options: ConnectionOptions): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ...options });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('throwaway TLS for a loopback drill server', () => {
  it('issues a server certificate for 127.0.0.1 that the throwaway CA signed', () => {
    const tls = makeThrowawayTls();
    const ca = new X509Certificate(tls.caPem);
    const cert = new X509Certificate(tls.certPem);

    assert.equal(cert.verify(ca.publicKey), true);
    assert.equal(cert.checkIssued(ca), true);
    assert.equal(ca.verify(ca.publicKey), true, 'the CA is self-signed');
    assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(cert.checkHost('localhost'), 'localhost');
    assert.equal(cert.checkIP('10.0.0.1'), undefined);
    assert.equal(ca.ca, true);
    assert.equal(cert.ca, false);
    assert.equal(ca.subject, 'CN=vsnap throwaway drill CA');
    assert.equal(cert.subject, 'CN=127.0.0.1');
    assert.equal(cert.issuer, ca.subject);
    assert.deepEqual(cert.keyUsage, [SERVER_AUTH]);
    assert.match(ca.serialNumber, /^[0-7][0-9A-F]{31}$/i, 'a positive 16-byte serial');
  });

  it('hands back the server key only: PKCS#8, matching the leaf, and never the CA key', () => {
    const tls = makeThrowawayTls();
    assert.match(tls.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.deepEqual(Object.keys(tls).sort(), ['caPem', 'certPem', 'keyPem']);
    const key = createPrivateKey(tls.keyPem);
    assert.equal(new X509Certificate(tls.certPem).checkPrivateKey(key), true);
    assert.equal(new X509Certificate(tls.caPem).checkPrivateKey(key), false);
  });

  it('is valid from a minute before now (clock skew) until now + validForMs', () => {
    const now = new Date('2030-06-01T12:00:00.000Z');
    const tls = makeThrowawayTls({ now, validForMs: 2 * 60 * 60 * 1000 });
    for (const pem of [tls.caPem, tls.certPem]) {
      const cert = new X509Certificate(pem);
      assert.equal(new Date(cert.validFrom).toISOString(), '2030-06-01T11:59:00.000Z');
      assert.equal(new Date(cert.validTo).toISOString(), '2030-06-01T14:00:00.000Z');
    }
  });

  it('defaults to 24 hours, and writes dates from 2050 on as GeneralizedTime', () => {
    const now = new Date('2049-12-31T12:00:00.000Z');
    const cert = new X509Certificate(makeThrowawayTls({ now }).certPem);
    assert.equal(new Date(cert.validFrom).toISOString(), '2049-12-31T11:59:00.000Z');
    assert.equal(new Date(cert.validTo).toISOString(), '2050-01-01T12:00:00.000Z');
  });

  it('refuses a validity that is not a positive duration', () => {
    assert.throws(() => makeThrowawayTls({ validForMs: 0 }), RangeError);
    assert.throws(() => makeThrowawayTls({ validForMs: Number.NaN }), RangeError);
  });

  it('a client trusting the CA completes a real handshake with 127.0.0.1; a client without it is refused', async () => {
    const tls = makeThrowawayTls();
    await withTlsServer(tls, async (port) => {
      const trusting = await handshake(port, { ca: tls.caPem });
      assert.equal(trusting.authorized, true);
      trusting.destroy();

      const byName = await handshake(port, { ca: tls.caPem, servername: 'localhost' });
      assert.equal(byName.authorized, true);
      byName.destroy();

      await assert.rejects(handshake(port, {}), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    });
  });

  it('makes a new CA every time: a client trusting one server refuses the next', async () => {
    const first = makeThrowawayTls();
    const second = makeThrowawayTls();
    assert.notEqual(new X509Certificate(first.caPem).fingerprint256, new X509Certificate(second.caPem).fingerprint256);
    await withTlsServer(second, async (port) => {
      await assert.rejects(handshake(port, { ca: first.caPem }), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
      const trusting = await handshake(port, { ca: second.caPem });
      assert.equal(trusting.authorized, true);
      trusting.destroy();
    });
  });
});
