// How the CLI encodes and decodes payloads: through a codec server when one is named (no keys on
// the operator's machine), else with local keys as the worker does, else not at all, and then an
// encrypted payload is refused with the way out rather than the SDK's "Unknown encoding".
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { ENCRYPTED_ENCODING } from '../worker/encryption/aes-gcm-codec';
import { vsnapDataConverter } from '../worker/encryption/codec-keys';
import { UsageError } from './cli';
import { checkCodecEndpoint, CodecError, RemoteCodec } from './remote-codec';

export interface CodecSettings {
  /** Codec server URL (--codec-endpoint, env VSNAP_CODEC_ENDPOINT). */
  endpoint?: string | undefined;
  /** Authorization header value for it (--codec-auth, env VSNAP_CODEC_AUTH). */
  authorization?: string | undefined;
}

export const NO_CODEC_MESSAGE =
  'payloads are encrypted: set VSNAP_CODEC_ENDPOINT (or VSNAP_CODEC_KEYS_FILE); --codec-endpoint URL does the ' +
  'same for one command, with --codec-auth (VSNAP_CODEC_AUTH) if the codec server asks for a token';

/** Without keys or a codec server: plain payloads pass, an encrypted one is a CodecError that says what to set. */
class NoCodec implements PayloadCodec {
  encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve(payloads);
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    if (payloads.some((p) => Buffer.from(p.metadata?.encoding ?? []).toString() === ENCRYPTED_ENCODING)) {
      return Promise.reject(new CodecError(NO_CODEC_MESSAGE));
    }
    return Promise.resolve(payloads);
  }
}

/** Flags first, then env; an endpoint wins over local keys, which are then not even loaded. */
export async function cliDataConverter(
  settings: CodecSettings,
  namespace: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<DataConverter> {
  const endpoint = settings.endpoint ?? env.VSNAP_CODEC_ENDPOINT;
  if (endpoint) {
    try {
      checkCodecEndpoint(endpoint);
    } catch (err) {
      // Bad input, found before anything is started: a usage error (exit 2), like a bad flag.
      throw new UsageError(`vsnap: --codec-endpoint (VSNAP_CODEC_ENDPOINT): ${(err as Error).message}`);
    }
    const codec = new RemoteCodec({
      endpoint,
      namespace,
      authorization: settings.authorization ?? env.VSNAP_CODEC_AUTH,
    });
    // As the worker with keys: failure messages travel in an attribute the codec encrypts.
    return { payloadCodecs: [codec], failureConverterPath: require.resolve('../worker/encryption/failure-converter') };
  }
  const local = await vsnapDataConverter(env);
  return local.payloadCodecs ? local : { payloadCodecs: [new NoCodec()] };
}
