import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { AesGcmCodec, CodecKeyError, ENCRYPTED_ENCODING } from '../../worker/encryption/aes-gcm-codec';
import { parseCodecKeys } from '../../worker/encryption/codec-keys';

const oldKey = randomBytes(32);
const newKey = randomBytes(32);
const payload = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const value = (p: Payload): unknown => defaultPayloadConverter.fromPayload(p);

describe('payload encryption (AES-256-GCM codec)', () => {
  it('round-trips a payload, and the encoded form holds neither the value nor its base64', async () => {
    const codec = new AesGcmCodec({ current: 'k1', keys: new Map([['k1', oldKey]]) });
    const secret = { token: 's.SuperSecretTokenValue1234', nested: [1, 2, 3] };
    const [encoded] = await codec.encode([payload(secret)]);
    assert.equal(Buffer.from(encoded.metadata!.encoding).toString(), ENCRYPTED_ENCODING);
    assert.equal(Buffer.from(encoded.metadata!['encryption-key-id']).toString(), 'k1');
    const raw = Buffer.from(encoded.data!).toString('latin1') + Buffer.from(encoded.data!).toString('base64');
    assert.ok(!raw.includes('SuperSecret') && !raw.includes(Buffer.from('SuperSecret').toString('base64')));
    const [decoded] = await codec.decode([encoded]);
    assert.deepEqual(value(decoded), secret);
  });

  it('rotates: the new key encrypts, payloads encrypted with the old key still decrypt', async () => {
    const before = new AesGcmCodec({ current: 'old', keys: new Map([['old', oldKey]]) });
    const after = new AesGcmCodec({
      current: 'new',
      keys: new Map([
        ['old', oldKey],
        ['new', newKey],
      ]),
    });
    const [fromOld] = await before.encode([payload('written before rotation')]);
    const [fromNew] = await after.encode([payload('written after')]);
    assert.equal(Buffer.from(fromNew.metadata!['encryption-key-id']).toString(), 'new');
    const decoded = await after.decode([fromOld, fromNew]);
    assert.deepEqual(decoded.map(value), ['written before rotation', 'written after']);
  });

  it('fails clearly on a key it does not have and on wrong key material', async () => {
    const [encoded] = await new AesGcmCodec({ current: 'k9', keys: new Map([['k9', oldKey]]) }).encode([payload('x')]);
    const other = new AesGcmCodec({ current: 'k1', keys: new Map([['k1', newKey]]) });
    await assert.rejects(other.decode([encoded]), (err: unknown) => {
      assert.ok(err instanceof CodecKeyError);
      assert.match(err.message, /encrypted with key "k9", which this process does not have \(it has: k1\)/);
      return true;
    });
    const wrongMaterial = new AesGcmCodec({ current: 'k9', keys: new Map([['k9', newKey]]) });
    await assert.rejects(wrongMaterial.decode([encoded]), /does not decrypt with it: wrong key material/);
  });

  it('passes unencrypted payloads through (a run started from the UI without a codec)', async () => {
    const codec = new AesGcmCodec({ current: 'k1', keys: new Map([['k1', oldKey]]) });
    const plain = payload({ target: 'drill' });
    assert.deepEqual(await codec.decode([plain]), [plain]);
  });

  it('refuses a key that is not 32 bytes and a current key that is not listed', () => {
    assert.throws(
      () => new AesGcmCodec({ current: 'k', keys: new Map([['k', randomBytes(16)]]) }),
      /16 bytes; AES-256 needs 32/,
    );
    assert.throws(() => new AesGcmCodec({ current: 'x', keys: new Map([['k', oldKey]]) }), /"x" is not among the keys/);
    assert.throws(() => parseCodecKeys('{"keys":{}}', 'VSNAP_CODEC_KEYS'), /must be \{"current"/);
  });
});
