// Secrets never in plaintext: run a backup and a drill on the real stack with payload
// encryption on, then read the raw history as anyone with UI access would (the temporal CLI,
// no codec), every worker log line and the CLI's output, and look for every secret the stack
// created, in plain text and base64, and for any Vault token at all.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { AesGcmCodec } from '../../worker/encryption/aes-gcm-codec';
import { loadCodecKeys } from '../../worker/encryption/codec-keys';
import { createCodecServer } from '../../worker/encryption/codec-server';
import { vsnap } from '../helpers/cli';
import { findLeakedSecrets, repoRoot, stackEnv, startTestWorker, type TestWorker } from '../helpers/stack';

const run = promisify(execFile);
const temporalCli = join(repoRoot, '.tools', 'venv', 'bin', 'temporal');
const TOKEN_SHAPE = /\b(?:hv[sbr]|[sbr])\.[A-Za-z0-9_-]{20,}/;

async function rawHistory(workflowId: string): Promise<string> {
  const { stdout } = await run(
    temporalCli,
    ['workflow', 'show', '-w', workflowId, '--output', 'json', '--address', stackEnv.TEMPORAL_ADDRESS],
    {
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return stdout;
}

/** Every base64 string in a JSON document, decoded: what a reader of the raw history could decode. */
function decodedBase64Strings(json: string): string {
  return [...json.matchAll(/"([A-Za-z0-9+/]{16,}={0,2})"/g)]
    .map((m) => Buffer.from(m[1], 'base64').toString('latin1'))
    .join('\n');
}

describe('secrets never in plaintext (real stack, payload encryption on)', () => {
  let worker: TestWorker;
  let cli: (args: string[]) => ReturnType<typeof vsnap>;

  before(async () => {
    assert.ok(stackEnv.VSNAP_CODEC_KEYS_FILE, 'the stack turns payload encryption on');
    worker = await startTestWorker();
    cli = (args) => vsnap([...args, '--task-queue', worker.taskQueue]);
  });
  after(async () => worker?.stop());

  test('backup and verify leave no secret in the raw history, the worker logs or the CLI output', async () => {
    const backup = await cli(['backup', '--cluster', 'prod', '--wait', '--json']);
    assert.equal(backup.code, 0, backup.stderr);
    const verify = await cli(['verify', '--cluster', 'prod', '--json']);
    assert.equal(verify.code, 0, verify.stderr);
    const ids = [backup, verify].map((r) => (JSON.parse(r.stdout) as { workflowId: string }).workflowId);

    const histories = await Promise.all(ids.map(rawHistory));
    const everything = [
      ...histories,
      ...histories.map(decodedBase64Strings),
      worker.logs.join('\n'),
      backup.stdout + backup.stderr,
      verify.stdout + verify.stderr,
    ].join('\n');
    assert.deepEqual(findLeakedSecrets(everything), []);
    assert.doesNotMatch(everything, TOKEN_SHAPE, 'no Vault token of any kind (generated root tokens included)');
    // The payloads really are encrypted: the report's check names are not readable in the raw history.
    assert.doesNotMatch(histories[1], /canary matches manifest/);
    assert.doesNotMatch(decodedBase64Strings(histories[1]), /canary matches manifest/);
  });

  test('the codec server decodes for the allowed UI origin, with CORS, and only with the token', async () => {
    const keys = await loadCodecKeys(stackEnv);
    const codec = new AesGcmCodec(keys!);
    const server = createCodecServer(codec, { allowedOrigins: ['http://127.0.0.1:8233'], bearerToken: 'ui-token' });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const url = `http://127.0.0.1:${port}`;
    try {
      const [encoded] = await codec.encode([
        { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"hello"') },
      ]);
      const body = JSON.stringify({
        payloads: [
          {
            metadata: Object.fromEntries(
              Object.entries(encoded.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
            ),
            data: Buffer.from(encoded.data!).toString('base64'),
          },
        ],
      });
      const headers = { 'Content-Type': 'application/json', 'X-Namespace': 'default', Origin: 'http://127.0.0.1:8233' };

      const preflight = await fetch(`${url}/decode`, { method: 'OPTIONS', headers });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get('access-control-allow-origin'), 'http://127.0.0.1:8233');
      assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /X-Namespace/);

      const denied = await fetch(`${url}/decode`, { method: 'POST', headers, body });
      assert.equal(denied.status, 401);

      const ok = await fetch(`${url}/decode`, {
        method: 'POST',
        headers: { ...headers, Authorization: 'Bearer ui-token' },
        body,
      });
      assert.equal(ok.status, 200);
      const decoded = (await ok.json()) as { payloads: { data: string }[] };
      assert.equal(Buffer.from(decoded.payloads[0].data, 'base64').toString(), '"hello"');

      const foreign = await fetch(`${url}/decode`, {
        method: 'OPTIONS',
        headers: { ...headers, Origin: 'https://evil.example' },
      });
      assert.equal(foreign.status, 403);
      assert.equal(foreign.headers.get('access-control-allow-origin'), null);
    } finally {
      server.close();
    }
  });
});
