// Where the payload encryption keys come from: a JSON document
//   {"current": "2026-11", "keys": {"2026-11": "<base64 32 bytes>", "2026-05": "<base64>"}}
// in VSNAP_CODEC_KEYS (env), in the file VSNAP_CODEC_KEYS_FILE (a mounted Kubernetes secret),
// or encrypted with AWS KMS in VSNAP_CODEC_KEYS_KMS_CIPHERTEXT (base64 of the KMS ciphertext
// of that JSON; decrypted at start with the pod's IAM role).
import { readFileSync } from 'node:fs';
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import type { DataConverter } from '@temporalio/common';
import { logAwsCalls } from '../aws-call-log';
import { AesGcmCodec, CodecKeyError, type CodecKeys } from './aes-gcm-codec';

export function parseCodecKeys(text: string, where: string): CodecKeys {
  let doc: { current?: unknown; keys?: unknown };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    throw new CodecKeyError(`${where} is not JSON; expected {"current": ID, "keys": {ID: base64 key}}`);
  }
  if (typeof doc.current !== 'string' || typeof doc.keys !== 'object' || doc.keys === null) {
    throw new CodecKeyError(`${where} must be {"current": ID, "keys": {ID: base64 key, ...}}`);
  }
  const keys = new Map<string, Buffer>();
  for (const [id, value] of Object.entries(doc.keys as Record<string, unknown>)) {
    if (typeof value !== 'string') throw new CodecKeyError(`${where}: key "${id}" must be a base64 string`);
    keys.set(id, Buffer.from(value, 'base64'));
  }
  return { current: doc.current, keys };
}

/** The codec keys from the environment, or undefined when encryption is not configured. */
export async function loadCodecKeys(env: NodeJS.ProcessEnv = process.env): Promise<CodecKeys | undefined> {
  if (env.VSNAP_CODEC_KEYS) return parseCodecKeys(env.VSNAP_CODEC_KEYS, 'VSNAP_CODEC_KEYS');
  if (env.VSNAP_CODEC_KEYS_FILE) {
    let text: string;
    try {
      text = readFileSync(env.VSNAP_CODEC_KEYS_FILE, 'utf8');
    } catch {
      throw new CodecKeyError(`VSNAP_CODEC_KEYS_FILE=${env.VSNAP_CODEC_KEYS_FILE} cannot be read`);
    }
    return parseCodecKeys(text, env.VSNAP_CODEC_KEYS_FILE);
  }
  if (env.VSNAP_CODEC_KEYS_KMS_CIPHERTEXT) {
    const kms = new KMSClient({});
    logAwsCalls(kms, 'codec keys', env);
    try {
      const out = await kms.send(
        new DecryptCommand({ CiphertextBlob: Buffer.from(env.VSNAP_CODEC_KEYS_KMS_CIPHERTEXT, 'base64') }),
      );
      return parseCodecKeys(Buffer.from(out.Plaintext ?? []).toString('utf8'), 'the KMS-decrypted codec keys');
    } catch (err) {
      if (err instanceof CodecKeyError) throw err;
      throw new CodecKeyError(
        `KMS could not decrypt VSNAP_CODEC_KEYS_KMS_CIPHERTEXT (${(err as Error).name}); check kms:Decrypt`,
      );
    }
  }
  return undefined;
}

/** The data converter of every vsnap process: encrypted payloads and failures when keys are set. */
export async function vsnapDataConverter(env: NodeJS.ProcessEnv = process.env): Promise<DataConverter> {
  const keys = await loadCodecKeys(env);
  if (!keys) return {};
  return {
    payloadCodecs: [new AesGcmCodec(keys)],
    failureConverterPath: require.resolve('./failure-converter'),
  };
}
