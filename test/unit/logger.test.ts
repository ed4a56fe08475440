// createLogger: the worker's pino JSON logger. Fields that may hold secrets are redacted
// wherever they nest (up to three levels below the top), so a careless log call cannot leak them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { REDACTED } from '../../activities/secret-scrubber';
import { createLogger } from '../../worker/logger';

/** A logger at `level` writing into memory; `lines()` returns what it wrote, one JSON line each. */
function capturingLogger(level = 'info') {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger(level, sink);
  const text = async (): Promise<string> => {
    await new Promise((resolve) => setImmediate(resolve));
    return chunks.join('');
  };
  const lines = async (): Promise<Record<string, unknown>[]> =>
    (await text())
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, text, lines };
}

// Made-up values, distinctive enough that finding them anywhere in the output means a leak.
const TOKEN = 's.Q2x7vR9kLm3nP8tW1yZ5aB6c';
const SECRET_ID = 'secret-id-84896a0c-1347-aa90';
const CLIENT_TOKEN = 'client-token-9c1d4e7f';

describe('logger: secrets never reach the output', () => {
  it('redacts token, nested secret_id and deeper client_token, and writes [REDACTED] instead', async () => {
    const { logger, text, lines } = capturingLogger();

    logger.info(
      { token: TOKEN, nested: { secret_id: SECRET_ID }, deeper: { a: { client_token: CLIENT_TOKEN } } },
      'vault login',
    );

    const output = await text();
    for (const secret of [TOKEN, SECRET_ID, CLIENT_TOKEN]) assert.ok(!output.includes(secret), `${secret} leaked`);
    assert.ok(output.includes(REDACTED));
    const [line] = await lines();
    assert.deepEqual(
      { token: line.token, nested: line.nested, deeper: line.deeper },
      { token: REDACTED, nested: { secret_id: REDACTED }, deeper: { a: { client_token: REDACTED } } },
    );
  });

  it('redacts a secret three levels below the top', async () => {
    const { logger, text, lines } = capturingLogger();

    logger.info({ vault: { login: { response: { client_token: CLIENT_TOKEN } } } }, 'login response');

    const output = await text();
    assert.ok(!output.includes(CLIENT_TOKEN), output);
    const [line] = await lines();
    assert.deepEqual(line.vault, { login: { response: { client_token: REDACTED } } });
  });

  it('redacts the AppRole environment variables and the X-Vault-Token header', async () => {
    const { logger, text, lines } = capturingLogger();

    logger.warn(
      {
        env: { APPROLE_ROLE_ID: 'role-id-1f2e3d', APPROLE_SECRET_ID: SECRET_ID },
        request: { headers: { 'X-Vault-Token': TOKEN } },
      },
      'request failed',
    );

    const output = await text();
    for (const secret of ['role-id-1f2e3d', SECRET_ID, TOKEN]) assert.ok(!output.includes(secret), `${secret} leaked`);
    const [line] = await lines();
    assert.equal(line.msg, 'request failed', 'the line itself was written');
    assert.deepEqual(
      { env: line.env, request: line.request },
      {
        env: { APPROLE_ROLE_ID: REDACTED, APPROLE_SECRET_ID: REDACTED },
        request: { headers: { 'X-Vault-Token': REDACTED } },
      },
    );
  });

  it('redacts secrets in child logger bindings', async () => {
    const { logger, text, lines } = capturingLogger();

    logger.child({ session: { token: TOKEN } }).info('renewed');

    assert.ok(!(await text()).includes(TOKEN));
    const [line] = await lines();
    assert.equal(line.msg, 'renewed', 'the line itself was written');
    assert.deepEqual(line.session, { token: REDACTED });
  });
});

describe('logger: ordinary fields and levels', () => {
  it('keeps non-secret fields, the service name, the level and an ISO timestamp', async () => {
    const { logger, lines } = capturingLogger();

    logger.info({ cluster: 'prod', raftIndex: 35 }, 'snapshot uploaded and recorded');

    const [line] = await lines();
    assert.equal(line.service, 'vsnap-worker');
    assert.equal(line.level, 30);
    assert.equal(line.cluster, 'prod');
    assert.equal(line.raftIndex, 35);
    assert.equal(line.msg, 'snapshot uploaded and recorded');
    assert.match(String(line.time), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('redacts any field named `key`, so an S3 object key must be logged under another name', async () => {
    // `key` is on the redaction list (Vault key material); the logger cannot tell it from an
    // S3 object key. Code that wants the snapshot's key in its logs binds it as snapshotKey.
    const { logger, lines } = capturingLogger();
    const s3Key = 'vsnap/prod/2026-11-28T01-22-33.123Z.snap';

    logger.child({ key: s3Key }).info({ snapshotKey: s3Key }, 'snapshot uploaded and recorded');

    const [line] = await lines();
    assert.equal(line.key, REDACTED);
    assert.equal(line.snapshotKey, s3Key);
  });

  it('drops messages below the configured level', async () => {
    const { logger, lines } = capturingLogger('warn');

    logger.info('not shown');
    logger.warn('shown');

    assert.deepEqual(
      (await lines()).map((l) => l.msg),
      ['shown'],
    );
  });
});
