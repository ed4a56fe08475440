// The CLI's codec when it holds no keys: payloads go to the codec server (the real one, in this
// process, on loopback) and come back; a refused token, an absent server and a missing codec
// are errors that name the endpoint and the fix, never the credentials.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { cliDataConverter, NO_CODEC_MESSAGE } from '../../client/data-converter';
import { CodecError, RemoteCodec } from '../../client/remote-codec';
import { AesGcmCodec, ENCRYPTED_ENCODING } from '../../worker/encryption/aes-gcm-codec';
import { createCodecServer } from '../../worker/encryption/codec-server';

const PORT = 20170;
/** Nothing listens here. */
const CLOSED_PORT = 20171;
const endpoint = `http://127.0.0.1:${PORT}`;
const token = randomBytes(16).toString('hex');
const keys = { current: 'k1', keys: new Map([['k1', randomBytes(32)]]) };
const payload = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const value = (p: Payload): unknown => defaultPayloadConverter.fromPayload(p);
const encoding = (p: Payload) => Buffer.from(p.metadata?.encoding ?? []).toString();

describe('remote codec (the CLI through a codec server)', () => {
  let server: http.Server;
  const seen: { url?: string; namespace?: string }[] = [];

  before(async () => {
    const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
    server = createCodecServer(new AesGcmCodec(keys), { allowedOrigins: [], bearerToken: token, logger: silent });
    server.on('request', (req: http.IncomingMessage) =>
      seen.push({ url: req.url, namespace: req.headers['x-namespace'] as string | undefined }),
    );
    await new Promise<void>((resolve) => server.listen(PORT, '127.0.0.1', resolve));
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const remote = (authorization: string | undefined, at = endpoint) =>
    new RemoteCodec({ endpoint: at, namespace: 'ops', authorization });
  const rightToken = `Bearer ${token}`;

  it('encodes and decodes through the server, in the same format as the worker', async () => {
    const codec = remote(rightToken);
    const [encoded] = await codec.encode([payload({ cluster: 'prod', keep: 3 })]);
    assert.equal(encoding(encoded), ENCRYPTED_ENCODING);
    // The worker's own codec reads what the server encrypted, and the server reads the worker's.
    assert.deepEqual(value((await new AesGcmCodec(keys).decode([encoded]))[0]), { cluster: 'prod', keep: 3 });
    const [fromWorker] = await new AesGcmCodec(keys).encode([payload('written by the worker')]);
    assert.deepEqual((await codec.decode([fromWorker, payload('plain')])).map(value), [
      'written by the worker',
      'plain',
    ]);
    assert.deepEqual(
      seen.slice(-2).map((s) => [s.url, s.namespace]),
      [
        ['/encode', 'ops'],
        ['/decode', 'ops'],
      ],
    );
  });

  it('asks the server nothing when no payload is encrypted', async () => {
    const before = seen.length;
    assert.deepEqual((await remote(rightToken).decode([payload(1), payload('two')])).map(value), [1, 'two']);
    assert.deepEqual(await remote(rightToken).encode([]), []);
    assert.equal(seen.length, before);
  });

  it('a refused token names the endpoint and the setting, never the token', async () => {
    const wrong = `Bearer ${randomBytes(16).toString('hex')}`;
    const [encrypted] = await new AesGcmCodec(keys).encode([payload('x')]);
    const err = await remote(wrong)
      .decode([encrypted])
      .then(
        () => assert.fail('decoded with a wrong token'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof CodecError);
    assert.match(err.message, new RegExp(`^the codec server at ${endpoint} refused to decode \\(HTTP 401\\): `));
    assert.match(err.message, /--codec-auth \(VSNAP_CODEC_AUTH\)/);
    assert.ok(!err.message.includes(wrong.slice(7)) && !err.message.includes(token));
    await assert.rejects(remote(undefined).encode([payload('x')]), /requires credentials: set VSNAP_CODEC_AUTH/);
  });

  it('a server that is not there is named without the credentials of its URL', async () => {
    await assert.rejects(
      remote(undefined, `http://someone:hunter2@127.0.0.1:${CLOSED_PORT}/`).encode([payload('x')]),
      (err: Error) => {
        assert.ok(err instanceof CodecError);
        assert.match(
          err.message,
          new RegExp(`cannot reach the codec server at http://127.0.0.1:${CLOSED_PORT} \\(ECONNREFUSED\\)`),
        );
        assert.ok(!err.message.includes('hunter2'));
        return true;
      },
    );
    assert.throws(() => remote(undefined, 'codec.example.com'), /is not a URL/);
  });

  it('an endpoint wins over local keys; with neither, an encrypted payload says what to set', async () => {
    const env = {
      VSNAP_CODEC_KEYS: JSON.stringify({ current: 'k1', keys: { k1: randomBytes(32).toString('base64') } }),
      VSNAP_CODEC_ENDPOINT: endpoint,
    };
    const both = await cliDataConverter({}, 'default', env);
    assert.ok(both.payloadCodecs?.[0] instanceof RemoteCodec);
    assert.ok(
      (await cliDataConverter({}, 'default', { VSNAP_CODEC_KEYS: env.VSNAP_CODEC_KEYS })).payloadCodecs?.[0] instanceof
        AesGcmCodec,
    );

    const [none] = (await cliDataConverter({}, 'default', {})).payloadCodecs ?? [];
    const [encrypted] = await new AesGcmCodec(keys).encode([payload('x')]);
    await assert.rejects(none.decode([encrypted]), { name: 'CodecError', message: NO_CODEC_MESSAGE });
    assert.deepEqual((await none.decode([payload('plain')])).map(value), ['plain']);
  });

  it('an endpoint that is not an http(s) URL is a usage error, before any connection', async () => {
    for (const bad of ['codec.example.com', 'ftp://codec.example.com']) {
      await assert.rejects(cliDataConverter({ endpoint: bad }, 'default', {}), {
        name: 'UsageError',
        message: /--codec-endpoint \(VSNAP_CODEC_ENDPOINT\): the codec endpoint .* (is not a URL|must be an http)/,
      });
    }
  });
});
