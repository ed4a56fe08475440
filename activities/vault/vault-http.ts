// The one Vault HTTP layer. JSON endpoints go through node-vault; the snapshot endpoints
// stream through node:http(s) because node-vault (axios) buffers whole bodies, and a Raft
// snapshot can be gigabytes.
import http from 'node:http';
import https from 'node:https';
import { finished, Readable } from 'node:stream';
import createDebug from 'debug';
import nodeVault from 'node-vault';
import { toVaultRequestError, VaultRequestError } from './vault-errors';

export interface VaultEndpoint {
  /** Base address, e.g. https://vault.example.com:8200 */
  address: string;
  /** PEM bundle to trust for TLS, when Vault's certificate is not from a public CA. */
  caCert?: string;
  /**
   * The name Vault's certificate is checked against (and sent as SNI), instead of the host
   * of the address dialled. Needed when that host is not in the certificate: a load
   * balancer's IP, or a node's advertised pod IP when following the leader.
   */
  tlsServerName?: string;
  /** A client certificate and its key (PEM), for listeners that require mutual TLS. */
  clientCert?: string;
  clientKey?: string;
  /**
   * The namespace every call is made in (X-Vault-Namespace), except the Raft snapshot
   * endpoints, which exist only in the root namespace.
   */
  namespace?: string;
  timeoutMs?: number;
}

export interface VaultRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'LIST';
  path: string;
  json?: Record<string, unknown>;
  token?: string;
  /** Extra headers, e.g. X-Vault-Wrap-TTL to have the response wrapped. */
  headers?: Record<string, string>;
}

/** `GET /v1/sys/health` fields vsnap relies on. */
export interface VaultHealth {
  initialized: boolean;
  sealed: boolean;
  standby: boolean;
  version?: string;
  cluster_name?: string;
  cluster_id?: string;
}

export interface VaultLeader {
  ha_enabled: boolean;
  is_self: boolean;
  leader_address: string;
  raft_committed_index?: number;
  raft_applied_index?: number;
}

const SNAPSHOT_PATH = '/v1/sys/storage/raft/snapshot';

// With DEBUG set, node-vault logs request bodies (secret IDs, key shares) and follow-redirects,
// under axios, logs request headers (X-Vault-Token). vsnap logs through pino with redaction
// only, so the `debug` package is switched off for the whole process, whatever DEBUG says.
createDebug.disable();

export class VaultHttp {
  readonly address: string;

  constructor(private readonly endpoint: VaultEndpoint) {
    this.address = endpoint.address.replace(/\/+$/, '');
  }

  /**
   * A client for another node of the same cluster (the leader a standby names), trusting the
   * same CA with the same timeouts: a private CA covers every node, not only the configured one.
   */
  forNode(address: string): VaultHttp {
    return new VaultHttp({ ...this.endpoint, address });
  }

  /** One JSON call. `operation` names it in errors ("AppRole login", "write canary"). */
  async request<T = Record<string, unknown>>(operation: string, req: VaultRequest): Promise<T> {
    const client = nodeVault({
      endpoint: this.address,
      requestOptions: verifiedTls(this.tlsOptions()),
    });
    // node-vault fills what it is not given from the environment: $VAULT_TOKEN, $VAULT_PREFIX
    // and $VAULT_NAMESPACE. A request carries only the token, path and namespace vsnap chose.
    Object.assign(client, { token: req.token ?? '', pathPrefix: '', namespace: this.endpoint.namespace ?? '' });
    try {
      const response: unknown = await client.request({
        method: req.method,
        path: req.path,
        timeout: this.endpoint.timeoutMs ?? 30_000,
        ...(req.json ? { json: req.json } : {}),
        ...(req.headers ? { headers: { ...req.headers } } : {}),
      });
      return (response ?? {}) as T;
    } catch (err) {
      throw toVaultRequestError(operation, this.address, err);
    }
  }

  /** Health without treating standby/sealed as errors (Vault answers them with 429/503). */
  async health(): Promise<VaultHealth> {
    const query = 'standbyok=true&sealedcode=200&uninitcode=200&perfstandbyok=true';
    return this.request<VaultHealth>('health check', { method: 'GET', path: `/sys/health?${query}` });
  }

  async leader(): Promise<VaultLeader> {
    return this.request<VaultLeader>('leader lookup', { method: 'GET', path: '/sys/leader' });
  }

  /**
   * Opens `GET /v1/sys/storage/raft/snapshot` as a stream. The caller must read it to the
   * end or destroy it. Errors before the first byte are VaultRequestErrors, and so is Vault
   * sending nothing for `idleTimeoutMs` while vsnap waits for more, the first byte included.
   */
  async openSnapshotStream(
    token: string,
    signal?: AbortSignal,
    idleTimeoutMs = this.endpoint.timeoutMs ?? 30_000,
  ): Promise<Readable> {
    const operation = 'snapshot read';
    const response = await this.send(operation, 'GET', SNAPSHOT_PATH, token, undefined, signal, idleTimeoutMs);
    // The socket timeout guarded the wait for the status line. It cannot guard the body: when
    // S3 is slower than Vault, vsnap stops reading, the socket goes quiet, and a socket timeout
    // would cut a healthy stream. From here the body is timed only while vsnap waits on Vault.
    response.socket.setTimeout(0);
    const seconds = idleTimeoutMs / 1000;
    return failWhenVaultIdle(
      response,
      idleTimeoutMs,
      () =>
        new VaultRequestError(operation, this.address, undefined, [
          `Vault sent nothing for ${seconds} s while vsnap waited for more of the snapshot ` +
            '(VSNAP_VAULT_STREAM_IDLE_SECONDS); a retry asks for a new one',
        ]),
    );
  }

  /**
   * Streams a snapshot into `POST /v1/sys/storage/raft/snapshot[-force]`. `force` is needed
   * when the snapshot comes from another cluster (different keyring).
   */
  async restoreSnapshot(token: string, body: Readable, force: boolean, signal?: AbortSignal): Promise<void> {
    const path = force ? `${SNAPSHOT_PATH}-force` : SNAPSHOT_PATH;
    const response = await this.send('snapshot restore', 'POST', path, token, body, signal);
    response.resume();
    await new Promise<void>((resolve, reject) => {
      response.on('end', resolve);
      response.on('error', reject);
    });
  }

  /** The TLS settings every connection to this cluster uses, JSON calls and streams alike. */
  private tlsOptions(): TlsOptions {
    const { caCert, tlsServerName, clientCert, clientKey } = this.endpoint;
    return {
      ...(caCert ? { ca: caCert } : {}),
      ...(tlsServerName ? { servername: tlsServerName } : {}),
      ...(clientCert ? { cert: clientCert } : {}),
      ...(clientKey ? { key: clientKey } : {}),
    };
  }

  private send(
    operation: string,
    method: 'GET' | 'POST',
    path: string,
    token: string,
    body: Readable | undefined,
    signal: AbortSignal | undefined,
    timeoutMs = this.endpoint.timeoutMs ?? 30_000,
  ): Promise<http.IncomingMessage> {
    const url = new URL(this.address + path);
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      // No X-Vault-Namespace: the Raft snapshot endpoints, the only streams, are root-namespace only.
      const req = transport.request(url, {
        method,
        headers: { 'X-Vault-Token': token, ...(body ? { 'Content-Type': 'application/octet-stream' } : {}) },
        ...this.tlsOptions(),
        signal,
      });
      req.setTimeout(timeoutMs, () => {
        req.destroy(Object.assign(new Error('timed out waiting for Vault'), { code: 'ETIMEDOUT' }));
      });
      req.on('error', (err) => reject(toVaultRequestError(operation, this.address, err)));
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          // Once bytes flow, the socket timeout above still guards a stalled restore response;
          // a snapshot read times its body itself (openSnapshotStream).
          resolve(res);
          return;
        }
        readErrorBody(res).then(
          (errors) => reject(new VaultRequestError(operation, this.address, status, errors)),
          () => reject(new VaultRequestError(operation, this.address, status, [])),
        );
      });
      if (body) {
        body.on('error', (err) => req.destroy(err));
        body.pipe(req);
      } else {
        req.end();
      }
    });
  }
}

type TlsOptions = Pick<https.RequestOptions, 'ca' | 'servername' | 'cert' | 'key'>;

/**
 * `response` as a stream that fails with `idleError()` when Vault sends nothing for `idleMs`
 * while vsnap has room for more. The clock stops whenever the reader is full (back-pressure:
 * the wait is vsnap's, not Vault's) and starts again when it asks for more.
 */
function failWhenVaultIdle(response: http.IncomingMessage, idleMs: number, idleError: () => Error): Readable {
  let timer: NodeJS.Timeout | undefined;
  const waitForVault = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stream.destroy(idleError()), idleMs);
  };
  const stopWaiting = () => clearTimeout(timer);
  const stream = new Readable({
    read() {
      waitForVault();
      response.resume();
    },
    destroy(err, done) {
      stopWaiting();
      response.destroy();
      done(err);
    },
  });
  response.on('data', (chunk: Buffer) => {
    stopWaiting();
    if (stream.push(chunk)) waitForVault();
    else response.pause();
  });
  finished(response, (err) => {
    stopWaiting();
    if (err) stream.destroy(err);
    else stream.push(null);
  });
  return stream;
}

/**
 * node-vault turns certificate verification off when $VAULT_SKIP_VERIFY has any value, even
 * "false"; its JSON calls carry AppRole secret IDs, key shares and root tokens, so verification
 * is forced back on here. node-vault hands `agentOptions` to the https.Agent of each call, which
 * passes them to every TLS connection it opens, redirects included.
 */
function verifiedTls(tls: TlsOptions): NonNullable<Parameters<typeof nodeVault>[0]>['requestOptions'] {
  const options = { agentOptions: { rejectUnauthorized: true, ...tls } };
  return options as NonNullable<Parameters<typeof nodeVault>[0]>['requestOptions'];
}

/** Reads at most 64 KiB of an error response and returns Vault's `errors` strings only. */
async function readErrorBody(res: http.IncomingMessage): Promise<string[]> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > 65_536) break;
    chunks.push(chunk as Buffer);
  }
  const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { errors?: unknown };
  return Array.isArray(parsed.errors) ? parsed.errors.filter((x): x is string => typeof x === 'string') : [];
}
