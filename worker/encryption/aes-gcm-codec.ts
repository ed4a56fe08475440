// Encrypts every Temporal payload (inputs, results, heartbeat details, query answers, and,
// with the failure converter below, failure messages and stacks) with AES-256-GCM. The key id
// travels in the payload's metadata, so keys rotate: one key encrypts, every listed key
// decrypts. Payloads that are not encrypted (a run started from the UI without a codec) pass
// through as they are.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface CodecKeys {
  /** Id of the key that encrypts. */
  current: string;
  /** Every key that may decrypt, by id (32 bytes each). */
  keys: Map<string, Buffer>;
}

export class CodecKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodecKeyError';
  }
}

export class AesGcmCodec implements PayloadCodec {
  constructor(private readonly codecKeys: CodecKeys) {
    const current = codecKeys.keys.get(codecKeys.current);
    if (!current) throw new CodecKeyError(`the encryption key "${codecKeys.current}" is not among the keys`);
    for (const [id, key] of codecKeys.keys) {
      if (key.length !== 32) throw new CodecKeyError(`key "${id}" is ${key.length} bytes; AES-256 needs 32`);
    }
  }

  encode(payloads: Payload[]): Promise<Payload[]> {
    const key = this.codecKeys.keys.get(this.codecKeys.current)!;
    return Promise.resolve(
      payloads.map((payload) => {
        const iv = randomBytes(IV_BYTES);
        const cipher = createCipheriv('aes-256-gcm', key, iv);
        const plain = temporal.api.common.v1.Payload.encode(payload).finish();
        const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
        return {
          metadata: {
            encoding: Buffer.from(ENCRYPTED_ENCODING),
            [KEY_ID]: Buffer.from(this.codecKeys.current),
          },
          data,
        };
      }),
    );
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    // An executor that throws rejects: a bad payload is a rejected promise, not a sync throw.
    return new Promise<Payload[]>((resolve) =>
      resolve(
        payloads.map((payload) => {
          if (Buffer.from(payload.metadata?.encoding ?? []).toString() !== ENCRYPTED_ENCODING) return payload;
          const id = Buffer.from(payload.metadata?.[KEY_ID] ?? []).toString();
          const key = this.codecKeys.keys.get(id);
          if (!key) {
            throw new CodecKeyError(
              `a payload is encrypted with key "${id}", which this process does not have (it has: ${[...this.codecKeys.keys.keys()].join(', ')}); add it to the codec keys`,
            );
          }
          const data = Buffer.from(payload.data ?? []);
          const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
          decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
          let plain: Buffer;
          try {
            plain = Buffer.concat([
              decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
              decipher.final(),
            ]);
          } catch {
            throw new CodecKeyError(
              `a payload marked with key "${id}" does not decrypt with it: wrong key material for that id`,
            );
          }
          return temporal.api.common.v1.Payload.decode(plain);
        }),
      ),
    );
  }
}
