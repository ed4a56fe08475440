// vsnap codec-server: lets the Temporal Web UI show vsnap's encrypted payloads to those allowed.
import { isIPv4 } from 'node:net';
import { AesGcmCodec } from '../../worker/encryption/aes-gcm-codec';
import { discoverJwksUrl, type OidcPolicy } from '../../worker/encryption/codec-auth';
import { loadCodecKeys } from '../../worker/encryption/codec-keys';
import { createCodecServer } from '../../worker/encryption/codec-server';
import { createLogger } from '../../worker/logger';
import { type Command, type CommandOptions, parseCommandArgs, UsageError } from '../cli';

const HELP = `Usage: vsnap codec-server [--port 8888] [--host 127.0.0.1] [--ui-origin URL ...] [--token-env NAME]
         [--oidc-issuer URL --oidc-audience AUD (--allow-subject SUB | --allow-group G)... [--oidc-jwks-url URL]]

Serve POST /encode and /decode for the Temporal Web UI, with the same keys as the worker
(VSNAP_CODEC_KEYS, VSNAP_CODEC_KEYS_FILE or VSNAP_CODEC_KEYS_KMS_CIPHERTEXT).

Options:
  --port N               port to listen on (default 8888)
  --host ADDR            address to bind (default 127.0.0.1); any address but 127.0.0.1, ::1 or
                         localhost needs --token-env or --oidc-issuer
  --ui-origin URL        origin of the Temporal UI allowed by CORS (repeatable; default http://127.0.0.1:8233)

Who may decrypt (a request passes with either; with neither, anyone on this host):
  --token-env NAME       admit "Authorization: Bearer $NAME": automation, temporal --codec-auth
  --oidc-issuer URL      admit the UI users' OIDC access tokens from this issuer (their exact "iss")
  --oidc-audience AUD    the "aud" those tokens must carry, often the UI's client id (needed with --oidc-issuer)
  --oidc-jwks-url URL    the issuer's signing keys (default: jwks_uri of URL/.well-known/openid-configuration)
  --allow-subject SUB    a user ("sub" claim) who may decrypt (repeatable)
  --allow-group G        a group whose members may decrypt (repeatable)
  --groups-claim NAME    the top-level claim listing a user's groups (default groups)
  An issuer needs at least one --allow-subject or --allow-group: alone it would let every
  account there read the payloads. Tokens must be signed with RS*, PS*, ES* or EdDSA, carry
  exp and sub, and be current (30 s of clock skew allowed). Refusals are 401 (no, bad or
  expired token) or 403 (a valid token whose user is not allowed), logged with the reason.

Point the UI at it: the dev server takes --ui-codec-endpoint http://127.0.0.1:8888; a
self-hosted UI takes TEMPORAL_CODEC_ENDPOINT, plus TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true for
OIDC; Temporal Cloud: Namespace > Codec Server. The UI passes the access token only to an
https:// endpoint: serve it behind TLS (an ingress or a proxy).

Examples:
  VSNAP_CODEC_KEYS_FILE=/etc/vsnap/codec-keys.json vsnap codec-server --ui-origin https://temporal.example.com

  # at https://codec.example.com, for the UI users who sign in at login.example.com, and a CI job
  VSNAP_CODEC_KEYS_FILE=/etc/vsnap/codec-keys.json vsnap codec-server --host 0.0.0.0 \\
    --ui-origin https://temporal.example.com --token-env VSNAP_CODEC_TOKEN \\
    --oidc-issuer https://login.example.com/realms/ops --oidc-audience temporal-ui \\
    --allow-group vsnap-restore --allow-subject alice@example.com`;

const OPTIONS = {
  port: { type: 'string', default: '8888' },
  host: { type: 'string', default: '127.0.0.1' },
  'ui-origin': { type: 'string', multiple: true },
  'token-env': { type: 'string' },
  'oidc-issuer': { type: 'string' },
  'oidc-audience': { type: 'string' },
  'oidc-jwks-url': { type: 'string' },
  'allow-subject': { type: 'string', multiple: true },
  'allow-group': { type: 'string', multiple: true },
  'groups-claim': { type: 'string', default: 'groups' },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies CommandOptions;

type Flags = ReturnType<typeof parseCommandArgs<typeof OPTIONS>>['values'];

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIPv4(host) && host.startsWith('127.'));
}

/** Keys fetched over plain http could be swapped in transit, so only a loopback issuer may use it. */
function secureUrl(flag: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`vsnap codec-server: --${flag} ${value} is not a URL`);
  }
  const loopback = isLoopback(url.hostname.replace(/^\[(.*)\]$/, '$1'));
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new UsageError(
      `vsnap codec-server: --${flag} ${value} must be https:// (http:// only on 127.0.0.1/localhost)`,
    );
  }
  return value;
}

/** The OIDC policy the flags ask for; its keys' address may still need discovery. */
function oidcFromFlags(values: Flags): (Omit<OidcPolicy, 'jwksUrl'> & { jwksUrl?: string }) | undefined {
  const issuer = values['oidc-issuer'];
  if (!issuer) {
    const stray = (['oidc-audience', 'oidc-jwks-url', 'allow-subject', 'allow-group'] as const).find(
      (flag) => values[flag] !== undefined,
    );
    if (stray) throw new UsageError(`vsnap codec-server: --${stray} needs --oidc-issuer`);
    return undefined;
  }
  const audience = values['oidc-audience'];
  if (!audience) {
    throw new UsageError(
      'vsnap codec-server: --oidc-issuer needs --oidc-audience (the "aud" of the access tokens the UI passes)',
    );
  }
  const allowedSubjects = values['allow-subject'] ?? [];
  const allowedGroups = values['allow-group'] ?? [];
  if (allowedSubjects.length === 0 && allowedGroups.length === 0) {
    throw new UsageError(
      `vsnap codec-server: --oidc-issuer ${issuer} needs --allow-subject or --allow-group: ` +
        'without them every account at the issuer could decrypt the payloads',
    );
  }
  const jwksUrl = values['oidc-jwks-url'];
  return {
    issuer: secureUrl('oidc-issuer', issuer),
    audience,
    ...(jwksUrl ? { jwksUrl: secureUrl('oidc-jwks-url', jwksUrl) } : {}),
    allowedSubjects,
    allowedGroups,
    groupsClaim: values['groups-claim'],
  };
}

function bearerTokenFromFlags(values: Flags): string | undefined {
  const name = values['token-env'];
  if (!name) return undefined;
  const token = process.env[name];
  if (!token) throw new UsageError(`vsnap codec-server: --token-env ${name} is not set`);
  return token;
}

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
    const bearerToken = bearerTokenFromFlags(values);
    const oidcFlags = oidcFromFlags(values);
    if (!bearerToken && !oidcFlags && !isLoopback(values.host)) {
      throw new UsageError(
        `vsnap codec-server: --host ${values.host} without --token-env or --oidc-issuer would let anyone ` +
          'who reaches it decrypt; add one (or bind 127.0.0.1)',
      );
    }
    const keys = await loadCodecKeys();
    if (!keys) {
      throw new UsageError(
        'vsnap codec-server: no codec keys; set VSNAP_CODEC_KEYS_FILE (or VSNAP_CODEC_KEYS, VSNAP_CODEC_KEYS_KMS_CIPHERTEXT)',
      );
    }
    const oidc = oidcFlags && {
      ...oidcFlags,
      jwksUrl:
        oidcFlags.jwksUrl ??
        (await discoverJwksUrl(oidcFlags.issuer).catch((err: Error) => {
          throw new Error(`${err.message}; give the keys' address with --oidc-jwks-url`);
        })),
    };
    const server = createCodecServer(new AesGcmCodec(keys), {
      allowedOrigins: values['ui-origin'] ?? ['http://127.0.0.1:8233'],
      ...(bearerToken ? { bearerToken } : {}),
      ...(oidc ? { oidc } : {}),
      logger: createLogger().child({ component: 'codec-server' }),
    });
    await new Promise<void>((resolve) => server.listen(port, values.host, resolve));
    const auth = [
      ...(bearerToken ? [`static token from ${values['token-env']}`] : []),
      ...(oidc ? [`OIDC tokens from ${oidc.issuer} for ${oidc.audience} (keys ${oidc.jwksUrl})`] : []),
    ];
    console.error(
      `vsnap codec-server listening on http://${values.host}:${port} (keys: ${[...keys.keys.keys()].join(', ')}; encrypting with ${keys.current}; ` +
        `admits: ${auth.join(' or ') || 'anyone on this host (no auth)'})`,
    );
    await new Promise<void>((resolve) => {
      const stop = () => server.close(() => resolve());
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  },
};
