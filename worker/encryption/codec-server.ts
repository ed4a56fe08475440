// The codec server the Temporal Web UI (and `temporal --codec-endpoint`) calls to show
// encrypted payloads: POST /encode and /decode with {"payloads": [...]}, each payload's
// metadata values and data in base64. CORS admits only the configured UI origin; a static
// bearer token, the UI users' OIDC access tokens, or both restrict who may decrypt.
import http from 'node:http';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { Logger } from 'pino';
import { createLogger } from '../logger';
import { type AuthDecision, createCodecAuthorizer, type OidcPolicy } from './codec-auth';

export interface CodecServerOptions {
  /** Origins of the Temporal UI allowed to call (exact match), e.g. http://127.0.0.1:8233. */
  allowedOrigins: string[];
  /** When set, requests may carry `Authorization: Bearer <token>` (automation, `temporal --codec-auth`). */
  bearerToken?: string;
  /** When set, requests may carry a UI user's OIDC access token that this policy admits. */
  oidc?: OidcPolicy;
  /** Gets one line per request: who was served, or why a request was refused; never a token. */
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
}

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

function fromJson(p: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data ?? '', 'base64'),
  };
}

function toJson(p: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? []).toString('base64'),
  };
}

/** RFC 6750: a 401 names the scheme, and says "invalid_token" when a token was sent. */
function refusalHeaders(decision: AuthDecision & { allowed: false }): Record<string, string> {
  if (decision.status !== 401) return {};
  return { 'WWW-Authenticate': decision.tokenGiven ? 'Bearer error="invalid_token"' : 'Bearer' };
}

export function createCodecServer(codec: PayloadCodec, options: CodecServerOptions): http.Server {
  const authorize = createCodecAuthorizer(options);
  const logger = options.logger ?? createLogger().child({ component: 'codec-server' });
  return http.createServer((req, res) => {
    const origin = req.headers.origin;
    if (origin && options.allowedOrigins.includes(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      // The UI's "Include cross-origin credentials" sends fetch(..., {credentials: 'include'}),
      // which browsers only complete with this; the origin is echoed only when allowed.
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
      res.setHeader('Vary', 'Origin');
    }
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { ...headers, 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    // Browsers send no Authorization on a preflight, so it is answered without one.
    if (req.method === 'OPTIONS') {
      res.writeHead(origin && options.allowedOrigins.includes(origin) ? 204 : 403);
      res.end();
      return;
    }
    // By path alone: the Temporal UI adds a query string (`/encode?preserveStorageRefs=true`).
    const path = new URL(req.url ?? '/', 'http://codec').pathname;
    const action = path === '/encode' ? 'encode' : path === '/decode' ? 'decode' : undefined;
    if (req.method !== 'POST' || !action) return send(404, { error: 'POST /encode or /decode' });
    const namespace = req.headers['x-namespace'];
    const serve = (decision: AuthDecision) => {
      if (!decision.allowed) {
        const { status, reason } = decision;
        const subject = 'subject' in decision ? decision.subject : undefined;
        logger.warn({ action, namespace, origin, status, reason, subject }, 'codec request refused');
        const error = status === 403 ? 'forbidden' : status === 401 ? 'unauthorized' : 'unavailable';
        return send(status, { error, reason }, refusalHeaders(decision));
      }
      const { grantedBy, subject } = decision;
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > 4 * 1024 * 1024) req.destroy();
        else chunks.push(c);
      });
      req.on('end', () => {
        let payloads: Payload[];
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { payloads?: JsonPayload[] };
          payloads = (body.payloads ?? []).map(fromJson);
        } catch {
          return send(400, { error: 'body must be {"payloads": [...]}' });
        }
        codec[action](payloads).then(
          (out) => {
            logger.info({ action, namespace, subject, grantedBy, payloads: out.length }, 'codec request served');
            send(200, { payloads: out.map(toJson) });
          },
          // The reason (e.g. an unknown key id) helps the operator and holds no secret.
          (err: unknown) => send(400, { error: err instanceof Error ? err.message : 'codec failure' }),
        );
      });
    };
    void authorize(req.headers.authorization).then(serve, (err: unknown) => {
      logger.error({ action, err }, 'codec request authorization failed');
      send(500, { error: 'authorization failed' });
    });
  });
}
