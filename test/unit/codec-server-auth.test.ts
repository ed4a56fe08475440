// Who may decrypt through the codec server: a real codec server and a real OIDC issuer made
// here (discovery document, JWKS of keys generated here), tokens signed the way an identity
// provider signs them for the Temporal UI's "Pass access token", and the static token
// automation keeps using. Nothing refused ever sees the token echoed back or logged.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { type CryptoKey, exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { UsageError } from '../../client/cli';
import { codecServerCommand } from '../../client/commands/codec-server';
import { AesGcmCodec } from '../../worker/encryption/aes-gcm-codec';
import { discoverJwksUrl } from '../../worker/encryption/codec-auth';
import { createCodecServer } from '../../worker/encryption/codec-server';
import { createLogger } from '../../worker/logger';

const UI_ORIGIN = 'https://temporal.example.com';
const AUDIENCE = 'temporal-ui';
const STATIC_TOKEN = 'ci-job-codec-token-3f9a0c';
/** A fixed port (the command takes no 0) in the range these tests may use. */
const CLI_PORT = 20047;

const codecKey = randomBytes(32);
const codec = new AesGcmCodec({ current: 'k1', keys: new Map([['k1', codecKey]]) });

/** Every token a test sends, to prove none comes back in a body or lands in a log line. */
const sentTokens: string[] = [STATIC_TOKEN];
const logLines: string[] = [];

interface Signer {
  key: CryptoKey | Uint8Array;
  kid: string;
  alg: string;
}

/** An identity provider on an ephemeral port: discovery document plus the public half of its keys. */
async function startIssuer(signers: Signer[]): Promise<{ issuer: string; server: http.Server }> {
  const keys = await Promise.all(
    signers.map(async ({ key, kid, alg }) => ({ ...(await exportJWK(key)), kid, alg, use: 'sig' })),
  );
  const server = http.createServer((req, res) => {
    const { port } = server.address() as AddressInfo;
    const issuer = `http://127.0.0.1:${port}`;
    const documents: Record<string, unknown> = {
      '/.well-known/openid-configuration': { issuer, jwks_uri: `${issuer}/keys` },
      '/keys': { keys },
    };
    const document = documents[req.url ?? ''];
    res.writeHead(document ? 200 : 404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(document ?? { error: 'not found' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { issuer: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** The body the UI posts: an encrypted payload in the codec protocol's JSON form. */
async function encryptedBody(value: unknown): Promise<string> {
  const [encoded] = await codec.encode([defaultPayloadConverter.toPayload(value)]);
  const asJson = (p: Payload) => ({
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? []).toString('base64'),
  });
  return JSON.stringify({ payloads: [asJson(encoded)] });
}

function decodedValues(body: string): unknown[] {
  const { payloads } = JSON.parse(body) as { payloads: { metadata: Record<string, string>; data: string }[] };
  return payloads.map((p) =>
    defaultPayloadConverter.fromPayload({
      metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
      data: Buffer.from(p.data, 'base64'),
    }),
  );
}

interface Reply {
  status: number;
  headers: Headers;
  body: string;
}

/** POST /decode as the Temporal UI sends it, with `Authorization: Bearer <token>` when given. */
async function decodeAs(url: string, token: string | undefined, body: string): Promise<Reply> {
  if (token) sentTokens.push(token);
  const response = await fetch(`${url}/decode`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'X-Namespace': 'default',
      Origin: UI_ORIGIN,
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body,
  });
  const reply = { status: response.status, headers: response.headers, body: await response.text() };
  for (const sent of sentTokens) assert.ok(!reply.body.includes(sent), `the response echoes a token: ${reply.body}`);
  return reply;
}

function assertUnauthorized(reply: Reply, reason: RegExp): void {
  assert.equal(reply.status, 401, reply.body);
  assert.match(reply.headers.get('www-authenticate') ?? '', /^Bearer\b/);
  assert.match((JSON.parse(reply.body) as { reason: string }).reason, reason);
}

describe('codec server: who may decrypt (static token, OIDC access tokens from the Temporal UI)', () => {
  let rsa: Signer;
  let ec: Signer;
  let issuer: string;
  let issuerServer: http.Server;
  let codecServer: http.Server;
  let url: string;
  let body: string;

  /** An access token as the issuer would mint it for the UI: RS256, for AUDIENCE, valid 5 minutes. */
  function accessToken(claims: JWTPayload & { sub: string }, options: { signer?: Signer } = {}): Promise<string> {
    const { key, kid, alg } = options.signer ?? rsa;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg, kid, typ: 'JWT' })
      .setIssuer(claims.iss ?? issuer)
      .setAudience(claims.aud ?? AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(claims.exp ?? now + 300)
      .sign(key);
  }

  before(async () => {
    const rsaPair = await generateKeyPair('RS256');
    const ecPair = await generateKeyPair('ES256');
    rsa = { key: rsaPair.privateKey, kid: 'rsa-2026', alg: 'RS256' };
    ec = { key: ecPair.privateKey, kid: 'ec-2026', alg: 'ES256' };
    ({ issuer, server: issuerServer } = await startIssuer([
      { ...rsa, key: rsaPair.publicKey },
      { ...ec, key: ecPair.publicKey },
    ]));
    codecServer = createCodecServer(codec, {
      allowedOrigins: [UI_ORIGIN],
      bearerToken: STATIC_TOKEN,
      oidc: {
        issuer,
        audience: AUDIENCE,
        jwksUrl: await discoverJwksUrl(issuer),
        allowedSubjects: ['alice'],
        allowedGroups: ['vsnap-restore'],
        groupsClaim: 'groups',
      },
      logger: createLogger('info', { write: (line: string) => logLines.push(line) }),
    });
    await new Promise<void>((resolve) => codecServer.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(codecServer.address() as AddressInfo).port}`;
    body = await encryptedBody({ snapshot: 'prod-2026-05-01', canary: 'vsnap-canary' });
  });

  after(() => {
    codecServer.close();
    issuerServer.close();
  });

  it('answers the browser preflight without a token, admitting Authorization and X-Namespace', async () => {
    const response = await fetch(`${url}/decode`, {
      method: 'OPTIONS',
      headers: {
        Origin: UI_ORIGIN,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type,x-namespace',
      },
    });
    assert.equal(response.status, 204);
    assert.equal(response.headers.get('access-control-allow-origin'), UI_ORIGIN);
    assert.equal(response.headers.get('access-control-allow-credentials'), 'true');
    const allowed = (response.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    for (const header of ['authorization', 'x-namespace', 'content-type']) assert.ok(allowed.includes(header), allowed);
  });

  it('refuses a request with no token: 401, a Bearer challenge the UI can read (CORS), no payloads', async () => {
    const reply = await decodeAs(url, undefined, body);
    assertUnauthorized(reply, /no bearer token/);
    assert.equal(reply.headers.get('www-authenticate'), 'Bearer');
    assert.equal(reply.headers.get('access-control-allow-origin'), UI_ORIGIN);
    assert.ok(!reply.body.includes('payloads'));
  });

  it('refuses garbage, a token signed by another key, a wrong audience and a wrong issuer: 401', async () => {
    assertUnauthorized(await decodeAs(url, 'not-a-jwt-just-garbage', body), /malformed token|wrong token/);
    const impostor = await generateKeyPair('RS256');
    // Same kid as the issuer's key, so the signature itself is what fails.
    const forged = await accessToken({ sub: 'alice' }, { signer: { ...rsa, key: impostor.privateKey } });
    assertUnauthorized(await decodeAs(url, forged, body), /not signed by the issuer's keys/);
    const forAnotherApp = await accessToken({ sub: 'alice', aud: 'grafana' });
    assertUnauthorized(await decodeAs(url, forAnotherApp, body), /wrong audience: token is for "grafana"/);
    const fromAnotherIssuer = await accessToken({ sub: 'alice', iss: 'https://login.evil.example.com' });
    assertUnauthorized(await decodeAs(url, fromAnotherIssuer, body), /wrong issuer/);
    assert.match(
      (await decodeAs(url, forged, body)).headers.get('www-authenticate') ?? '',
      /^Bearer error="invalid_token"$/,
    );
  });

  it('refuses an expired token (beyond the clock skew allowed): 401 "token expired"', async () => {
    const twoMinutesAgo = Math.floor(Date.now() / 1000) - 120;
    const expired = await accessToken({ sub: 'alice', exp: twoMinutesAgo });
    assertUnauthorized(await decodeAs(url, expired, body), /token expired/);
  });

  it('refuses HS256 (signed with a shared secret) and unsigned alg "none" tokens: 401', async () => {
    const secret = new TextEncoder().encode('a-shared-secret-someone-guessed-0123456789');
    const hs256 = await accessToken({ sub: 'alice' }, { signer: { key: secret, kid: rsa.kid, alg: 'HS256' } });
    assertUnauthorized(await decodeAs(url, hs256, body), /algorithm not allowed/);
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const exp = Math.floor(Date.now() / 1000) + 300;
    const unsigned = `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: 'alice', iss: issuer, aud: AUDIENCE, exp })}.`;
    assertUnauthorized(await decodeAs(url, unsigned, body), /algorithm not allowed|malformed token/);
  });

  it('refuses a valid token of a user neither allowed by subject nor by group: 403', async () => {
    const mallory = await accessToken({ sub: 'mallory', groups: ['developers'] });
    const reply = await decodeAs(url, mallory, body);
    assert.equal(reply.status, 403, reply.body);
    assert.deepEqual(JSON.parse(reply.body), {
      error: 'forbidden',
      reason: 'subject not allowed and in no allowed group',
    });
  });

  it('decrypts for an allowed subject, and for a member of an allowed group (an ES256 key)', async () => {
    const alice = await decodeAs(url, await accessToken({ sub: 'alice' }), body);
    assert.equal(alice.status, 200, alice.body);
    assert.deepEqual(decodedValues(alice.body), [{ snapshot: 'prod-2026-05-01', canary: 'vsnap-canary' }]);
    const bobToken = await accessToken({ sub: 'bob', groups: ['developers', 'vsnap-restore'] }, { signer: ec });
    const bob = await decodeAs(url, bobToken, body);
    assert.equal(bob.status, 200, bob.body);
    assert.deepEqual(decodedValues(bob.body), [{ snapshot: 'prod-2026-05-01', canary: 'vsnap-canary' }]);
  });

  it('serves /encode and /decode with a query string, as the Temporal UI calls them', async () => {
    const response = await fetch(`${url}/decode?preserveStorageRefs=true`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: UI_ORIGIN, Authorization: `Bearer ${STATIC_TOKEN}` },
      body,
    });
    const reply = await response.text();
    assert.equal(response.status, 200, reply);
    assert.deepEqual(decodedValues(reply), [{ snapshot: 'prod-2026-05-01', canary: 'vsnap-canary' }]);
  });

  it('still decrypts for automation with the static token, and refuses a wrong one', async () => {
    const automation = await decodeAs(url, STATIC_TOKEN, body);
    assert.equal(automation.status, 200, automation.body);
    assert.deepEqual(decodedValues(automation.body), [{ snapshot: 'prod-2026-05-01', canary: 'vsnap-canary' }]);
    assertUnauthorized(await decodeAs(url, `${STATIC_TOKEN}x`, body), /malformed token/);
  });

  it("answers 503, not 401, while the issuer's keys cannot be fetched (no verdict on the token)", async () => {
    const cutOff = createCodecServer(codec, {
      allowedOrigins: [UI_ORIGIN],
      oidc: {
        issuer,
        audience: AUDIENCE,
        jwksUrl: `${issuer}/no-such-keys`,
        allowedSubjects: ['alice'],
        allowedGroups: [],
        groupsClaim: 'groups',
      },
      logger: createLogger('info', { write: (line: string) => logLines.push(line) }),
    });
    await new Promise<void>((resolve) => cutOff.listen(0, '127.0.0.1', resolve));
    try {
      const cutOffUrl = `http://127.0.0.1:${(cutOff.address() as AddressInfo).port}`;
      const reply = await decodeAs(cutOffUrl, await accessToken({ sub: 'alice' }), body);
      assert.equal(reply.status, 503, reply.body);
      assert.match(reply.body, /issuer keys unavailable: Expected 200 OK/);
    } finally {
      cutOff.close();
    }
  });

  it('logs each decision with its reason and subject, and never a token', () => {
    const entries = logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const find = (fields: Record<string, unknown>) =>
      entries.find((e) => Object.entries(fields).every(([k, v]) => e[k] === v));
    assert.ok(find({ msg: 'codec request refused', reason: 'token expired', subject: 'alice', status: 401 }));
    assert.ok(find({ msg: 'codec request refused', subject: 'mallory', status: 403, namespace: 'default' }));
    assert.ok(find({ msg: 'codec request served', subject: 'alice', grantedBy: 'allowed subject' }));
    assert.ok(find({ msg: 'codec request served', subject: 'bob', grantedBy: 'group vsnap-restore' }));
    assert.ok(find({ msg: 'codec request served', grantedBy: 'static token' }));
    const everything = logLines.join('\n');
    for (const token of sentTokens) assert.ok(!everything.includes(token), 'a token reached the log');
    assert.ok(!everything.includes(STATIC_TOKEN.slice(0, 12)));
  });

  it('vsnap codec-server wires the flags: discovery, --allow-group, --groups-claim (a real process)', async () => {
    const keys = JSON.stringify({ current: 'k1', keys: { k1: codecKey.toString('base64') } });
    const child = spawn(
      process.execPath,
      [
        'bin/vsnap.js',
        'codec-server',
        ...['--port', String(CLI_PORT), '--ui-origin', UI_ORIGIN],
        ...['--oidc-issuer', issuer, '--oidc-audience', AUDIENCE],
        ...['--allow-group', 'vsnap-restore', '--groups-claim', 'roles'],
      ],
      { env: { ...process.env, VSNAP_CODEC_KEYS: keys }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stderr.on('data', (c: Buffer) => {
          stderr += c.toString();
          if (stderr.includes('listening')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`vsnap codec-server exited ${code}: ${stderr}`)));
      });
      assert.match(stderr, new RegExp(`admits: OIDC tokens from ${issuer} for ${AUDIENCE} \\(keys ${issuer}/keys\\)`));
      const cliUrl = `http://127.0.0.1:${CLI_PORT}`;
      const carol = await accessToken({ sub: 'carol', roles: ['vsnap-restore'] });
      const served = await decodeAs(cliUrl, carol, body);
      assert.equal(served.status, 200, served.body);
      // The group in "groups" does not count: the flag names "roles".
      const dave = await accessToken({ sub: 'dave', groups: ['vsnap-restore'] });
      assert.equal((await decodeAs(cliUrl, dave, body)).status, 403);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('close', resolve));
    }
    assert.match(stdout, /"subject":"carol","grantedBy":"group vsnap-restore"/);
    assert.match(stdout, /"reason":"subject not allowed and in no allowed group","subject":"dave"/);
    for (const token of sentTokens) assert.ok(!stdout.includes(token) && !stderr.includes(token));
  });
});

describe('vsnap codec-server: flags that would leave the payloads open are refused', () => {
  const run = (...argv: string[]) => codecServerCommand.run(argv);
  const refused = (message: RegExp) => (err: unknown) => {
    assert.ok(err instanceof UsageError, String(err));
    assert.match(err.message, message);
    return true;
  };
  const oidc = ['--oidc-issuer', 'https://login.example.com/realms/ops', '--oidc-audience', AUDIENCE];

  it('an issuer with neither --allow-subject nor --allow-group', async () => {
    await assert.rejects(run(...oidc), refused(/needs --allow-subject or --allow-group: without them every account/));
  });

  it('no auth at all on a non-loopback address (0.0.0.0), naming the flags to add', async () => {
    await assert.rejects(run('--host', '0.0.0.0'), refused(/--host 0\.0\.0\.0 without --token-env or --oidc-issuer/));
  });

  it('an issuer without an audience, OIDC flags without an issuer, an http:// issuer off loopback', async () => {
    await assert.rejects(
      run('--oidc-issuer', 'https://login.example.com', '--allow-group', 'g'),
      refused(/needs --oidc-audience/),
    );
    await assert.rejects(run('--allow-group', 'vsnap-restore'), refused(/--allow-group needs --oidc-issuer/));
    await assert.rejects(
      run('--oidc-issuer', 'http://login.example.com', '--oidc-audience', AUDIENCE, '--allow-subject', 'alice'),
      refused(/must be https:\/\//),
    );
  });

  it('accepts OIDC with an allow-list on 0.0.0.0 (and goes on to look for codec keys)', async () => {
    const saved = Object.fromEntries(
      ['VSNAP_CODEC_KEYS', 'VSNAP_CODEC_KEYS_FILE', 'VSNAP_CODEC_KEYS_KMS_CIPHERTEXT'].map((n) => [n, process.env[n]]),
    );
    for (const name of Object.keys(saved)) delete process.env[name];
    try {
      await assert.rejects(run('--host', '0.0.0.0', ...oidc, '--allow-subject', 'alice'), refused(/no codec keys/));
    } finally {
      for (const [name, value] of Object.entries(saved)) if (value !== undefined) process.env[name] = value;
    }
  });
});
