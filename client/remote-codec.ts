// Encryption through a codec server (`vsnap codec-server`, or any server speaking Temporal's
// codec protocol): the CLI sends payloads to POST <endpoint>/encode and /decode and holds no
// keys itself, as `temporal --codec-endpoint` and the Web UI do. Wire format: {"payloads": [...]},
// each payload as proto JSON (metadata values and data in base64).
import type { Payload, PayloadCodec } from '@temporalio/common';
import { JSONToPayload, payloadToJSON, type JSONPayload } from '@temporalio/common/lib/proto-utils';
import { ENCRYPTED_ENCODING } from '../worker/encryption/aes-gcm-codec';

/**
 * The CLI cannot encode or decode payloads: no codec for encrypted ones, or the codec server
 * refused or could not be reached. Never retried or swallowed: every later payload fails alike.
 */
export class CodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodecError';
  }
}

export interface RemoteCodecOptions {
  /** Base URL of the codec server; /encode and /decode are appended. */
  endpoint: string;
  /** Sent as X-Namespace: a codec server may keep keys per namespace. */
  namespace: string;
  /** The whole Authorization header value, e.g. "Bearer <token>". Never shown in any message. */
  authorization?: string | undefined;
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** Throws a CodecError unless `endpoint` is an http(s) URL. */
export function checkCodecEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new CodecError(`the codec endpoint "${endpoint}" is not a URL; give e.g. https://codec.example.com`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CodecError(`the codec endpoint "${endpoint}" must be an http:// or https:// URL`);
  }
  return url;
}

/** The endpoint as messages show it: without any user:password in the URL, query or fragment. */
function shownEndpoint(url: URL): string {
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function isEncrypted(payload: Payload): boolean {
  return Buffer.from(payload.metadata?.encoding ?? []).toString() === ENCRYPTED_ENCODING;
}

/** Why fetch failed, as the network said it (ECONNREFUSED, ENOTFOUND, a timeout). */
function networkReason(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'no answer in time';
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

export class RemoteCodec implements PayloadCodec {
  private readonly url: URL;
  private readonly shown: string;

  constructor(private readonly options: RemoteCodecOptions) {
    this.url = checkCodecEndpoint(options.endpoint);
    this.shown = shownEndpoint(this.url);
  }

  encode(payloads: Payload[]): Promise<Payload[]> {
    return this.call('encode', payloads);
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    // Only what the worker encrypted needs the server (it returns the rest unchanged): `watch`
    // polls every second, and most of what it reads is not encrypted.
    if (!payloads.some(isEncrypted)) return Promise.resolve(payloads);
    return this.call('decode', payloads);
  }

  private async call(action: 'encode' | 'decode', payloads: Payload[]): Promise<Payload[]> {
    if (payloads.length === 0) return [];
    const target = new URL(this.url);
    target.pathname = `${target.pathname.replace(/\/+$/, '')}/${action}`;
    target.username = '';
    target.password = '';
    let res: Response;
    try {
      res = await fetch(target, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-Namespace': this.options.namespace,
          ...(this.options.authorization ? { Authorization: this.options.authorization } : {}),
        },
        body: JSON.stringify({ payloads: payloads.map(payloadToJSON) }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
    } catch (err) {
      throw new CodecError(
        `cannot reach the codec server at ${this.shown} (${networkReason(err)}): check --codec-endpoint ` +
          `(VSNAP_CODEC_ENDPOINT) and that the codec server runs there`,
      );
    }
    const text = await res.text().catch(() => '');
    if (res.ok) return this.payloadsFrom(text, action, payloads.length);
    const said = serverReason(text);
    const saying = said ? ` (it said: ${said})` : '';
    if (res.status === 401 || res.status === 403) {
      const fix = this.options.authorization
        ? 'the credentials in --codec-auth (VSNAP_CODEC_AUTH) were not accepted; check the token'
        : 'it requires credentials: set VSNAP_CODEC_AUTH (or --codec-auth) to the Authorization header it expects, e.g. "Bearer <token>"';
      throw new CodecError(
        `the codec server at ${this.shown} refused to ${action} (HTTP ${res.status}): ${fix}${saying}`,
      );
    }
    throw new CodecError(
      `the codec server at ${this.shown} could not ${action} (HTTP ${res.status})${saying}` +
        (res.status === 404 ? `; is ${this.shown} the codec server's address?` : ''),
    );
  }

  private payloadsFrom(text: string, action: string, expected: number): Payload[] {
    let body: { payloads?: unknown };
    try {
      body = JSON.parse(text) as { payloads?: unknown };
    } catch {
      throw new CodecError(`the codec server at ${this.shown} answered /${action} with something other than JSON`);
    }
    if (!Array.isArray(body.payloads) || body.payloads.length !== expected) {
      throw new CodecError(
        `the codec server at ${this.shown} answered /${action} without the ${expected} payload(s) it was sent`,
      );
    }
    return (body.payloads as JSONPayload[]).map((p) => JSONToPayload(p));
  }
}

/** The server's own reason ({"reason": ...} or {"error": ...}), e.g. an unknown key id: it holds no secret. */
function serverReason(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { reason?: unknown; error?: unknown };
    const said = typeof body.reason === 'string' && body.reason ? body.reason : body.error;
    return typeof said === 'string' && said ? said : undefined;
  } catch {
    return undefined;
  }
}
