// vsnap codec-server: lets the Temporal Web UI show vsnap's encrypted payloads to those allowed.
import { AesGcmCodec } from '../../worker/encryption/aes-gcm-codec';
import { loadCodecKeys } from '../../worker/encryption/codec-keys';
import { createCodecServer } from '../../worker/encryption/codec-server';
import { type Command, type CommandOptions, parseCommandArgs, UsageError } from '../cli';

const HELP = `Usage: vsnap codec-server [--port 8888] [--host 127.0.0.1] [--ui-origin URL ...] [--token-env NAME]

Serve POST /encode and /decode for the Temporal Web UI, with the same keys as the worker
(VSNAP_CODEC_KEYS, VSNAP_CODEC_KEYS_FILE or VSNAP_CODEC_KEYS_KMS_CIPHERTEXT).

Options:
  --port N           port to listen on (default 8888)
  --host ADDR        address to bind (default 127.0.0.1)
  --ui-origin URL    origin of the Temporal UI allowed by CORS (repeatable; default http://127.0.0.1:8233)
  --token-env NAME   require "Authorization: Bearer $NAME" (turn on "Pass access token" in the UI)

Point the UI at it: the dev server takes --ui-codec-endpoint http://127.0.0.1:8888; a
self-hosted UI takes TEMPORAL_CODEC_ENDPOINT; Temporal Cloud: Namespace > Codec Server.

Example:
  VSNAP_CODEC_KEYS_FILE=/etc/vsnap/codec-keys.json vsnap codec-server --ui-origin https://temporal.example.com`;

const OPTIONS = {
  port: { type: 'string', default: '8888' },
  host: { type: 'string', default: '127.0.0.1' },
  'ui-origin': { type: 'string', multiple: true },
  'token-env': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies CommandOptions;

export const codecServerCommand: Command = {
  name: 'codec-server',
  synopsis: 'Serve /encode and /decode so the Temporal UI can show encrypted payloads',
  help: HELP,
  options: OPTIONS,
  async run(argv) {
    const { values } = parseCommandArgs('codec-server', argv, OPTIONS);
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new UsageError(`vsnap codec-server: --port ${values.port} is not a port`);
    const keys = await loadCodecKeys();
    if (!keys) {
      throw new UsageError(
        'vsnap codec-server: no codec keys; set VSNAP_CODEC_KEYS_FILE (or VSNAP_CODEC_KEYS, VSNAP_CODEC_KEYS_KMS_CIPHERTEXT)',
      );
    }
    let bearerToken: string | undefined;
    if (values['token-env']) {
      bearerToken = process.env[values['token-env']];
      if (!bearerToken) throw new UsageError(`vsnap codec-server: --token-env ${values['token-env']} is not set`);
    }
    const server = createCodecServer(new AesGcmCodec(keys), {
      allowedOrigins: values['ui-origin'] ?? ['http://127.0.0.1:8233'],
      ...(bearerToken ? { bearerToken } : {}),
    });
    await new Promise<void>((resolve) => server.listen(port, values.host, resolve));
    console.error(
      `vsnap codec-server listening on http://${values.host}:${port} (keys: ${[...keys.keys.keys()].join(', ')}; encrypting with ${keys.current})`,
    );
    await new Promise<void>((resolve) => {
      const stop = () => server.close(() => resolve());
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  },
};
