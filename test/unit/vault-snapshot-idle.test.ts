// The snapshot stream's idle timeout, against a real local HTTP server standing in for Vault:
// Vault sending nothing fails the read; vsnap pausing its reads (S3 slower than Vault) does not.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { VaultHttp } from '../../activities/vault/vault-http';
import { VaultRequestError } from '../../activities/vault/vault-errors';

const IDLE_MS = 300;

/** What the pretend Vault does with a snapshot request, chosen per test. */
let answer: (res: ServerResponse) => void = (res) => res.end();
const server = createServer((req, res) => {
  // The connection must not outlive the test run when a client gives up on it.
  req.socket.on('error', () => undefined);
  answer(res);
});
let vault: VaultHttp;

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  vault = new VaultHttp({ address: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
});
after(() => {
  server.closeAllConnections();
  server.close();
});

async function readAll(stream: Readable, pauseAfterFirstChunkMs = 0): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (chunks.length === 0 && pauseAfterFirstChunkMs > 0) await sleep(pauseAfterFirstChunkMs);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

describe('the Vault snapshot stream idle timeout', () => {
  test('Vault going silent mid-stream fails the read once the idle timeout passes', async () => {
    answer = (res) => {
      res.writeHead(200, { 'Content-Type': 'application/gzip' });
      res.write(randomBytes(64 * 1024)); // then nothing, and the response never ends
    };
    const began = Date.now();
    const stream = await vault.openSnapshotStream('token', undefined, IDLE_MS);

    await assert.rejects(readAll(stream), (err: unknown) => {
      assert.ok(err instanceof VaultRequestError, `a VaultRequestError, got ${String(err)}`);
      assert.match(err.message, /sent nothing for 0\.3 s/);
      assert.match(err.message, /VSNAP_VAULT_STREAM_IDLE_SECONDS/);
      return true;
    });
    const waited = Date.now() - began;
    assert.ok(waited >= IDLE_MS && waited < IDLE_MS + 2000, `failed after ${waited} ms`);
  });

  test('vsnap pausing its reads far longer than the idle timeout (S3 slow) is not Vault idle', async () => {
    // More than the socket and stream buffers hold, so Vault really waits on vsnap's pause.
    const snapshot = randomBytes(16 * 1024 * 1024);
    answer = (res) => {
      res.writeHead(200, { 'Content-Type': 'application/gzip' });
      res.end(snapshot);
    };
    const stream = await vault.openSnapshotStream('token', undefined, IDLE_MS);

    const received = await readAll(stream, 5 * IDLE_MS);

    assert.equal(received.length, snapshot.length);
    assert.ok(received.equals(snapshot), 'every byte arrived, in order');
  });

  test('a slow but steady Vault is not idle: the timeout counts silence, not the whole read', async () => {
    answer = (res) => {
      res.writeHead(200, { 'Content-Type': 'application/gzip' });
      let sent = 0;
      const timer = setInterval(() => {
        res.write(Buffer.alloc(1024, sent));
        if (++sent === 10) {
          clearInterval(timer);
          res.end();
        }
      }, IDLE_MS / 3);
    };
    const stream = await vault.openSnapshotStream('token', undefined, IDLE_MS);

    assert.equal((await readAll(stream)).length, 10 * 1024, 'a read three times longer than the timeout completes');
  });

  test('the wait for the first byte counts as Vault idle too', async () => {
    answer = () => undefined; // no status line, ever
    const began = Date.now();

    await assert.rejects(vault.openSnapshotStream('token', undefined, IDLE_MS), VaultRequestError);
    assert.ok(Date.now() - began < IDLE_MS + 2000);
  });
});
