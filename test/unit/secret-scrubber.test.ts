// scrubSecrets: the last line of defence for error messages that reach Temporal's history and
// the logs. Vault/OpenBao tokens and keyed secrets are replaced by [REDACTED].
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { REDACTED, scrubSecrets } from '../../activities/secret-scrubber';

// Shaped like real tokens, but made up.
const OPENBAO_TOKEN = 's.Q2x7vR9kLm3nP8tW1yZ5aB6c'; // s. + 24 characters
const VAULT_TOKEN = 'hvs.CAESIJlU1Z2xyZzhNa3ZKdkZ3Z0RhTnZqYUFwGh4KHGh2cy5Pd3lGNkJ0bVd3bTlnS0E';
const VAULT_BATCH_TOKEN = 'hvb.AAAAAQJ5dGVzdC1iYXRjaC10b2tlbi1mb3ItdW5pdC10ZXN0cw';
const SECRET_ID = '84896a0c-1347-aa90-a4f6-aca8b7558780';

describe('secret scrubber: token formats', () => {
  it('redacts an OpenBao service token (s. + 24 characters)', () => {
    const scrubbed = scrubSecrets(`login returned ${OPENBAO_TOKEN} for role vsnap`);

    assert.equal(scrubbed, `login returned ${REDACTED} for role vsnap`);
  });

  it('redacts a Vault hvs. service token and an hvb. batch token', () => {
    const scrubbed = scrubSecrets(`tokens ${VAULT_TOKEN} and ${VAULT_BATCH_TOKEN} leaked`);

    assert.equal(scrubbed, `tokens ${REDACTED} and ${REDACTED} leaked`);
  });

  it('redacts every token in a message, not only the first', () => {
    const scrubbed = scrubSecrets(`${OPENBAO_TOKEN},${OPENBAO_TOKEN};${VAULT_TOKEN}`);

    assert.ok(!scrubbed.includes(OPENBAO_TOKEN));
    assert.ok(!scrubbed.includes(VAULT_TOKEN));
    assert.equal(scrubbed.split(REDACTED).length - 1, 3);
  });

  it('redacts a token in an X-Vault-Token header line', () => {
    const scrubbed = scrubSecrets(`X-Vault-Token: ${VAULT_TOKEN}`);

    assert.ok(!scrubbed.includes(VAULT_TOKEN), scrubbed);
    assert.ok(scrubbed.includes(REDACTED));
  });
});

describe('secret scrubber: keyed secrets', () => {
  it('redacts the value of a "secret_id" JSON field and keeps the field name', () => {
    const scrubbed = scrubSecrets(`AppRole login body {"role_id":"vsnap","secret_id":"${SECRET_ID}"}`);

    assert.ok(!scrubbed.includes(SECRET_ID), scrubbed);
    assert.ok(scrubbed.includes(`"secret_id":"${REDACTED}"`), scrubbed);
  });

  it('redacts "secret_id" with spaces around the colon', () => {
    const scrubbed = scrubSecrets(`{ "secret_id" : "${SECRET_ID}" }`);

    assert.ok(!scrubbed.includes(SECRET_ID), scrubbed);
  });

  it('redacts client_token, root_token and password values in key=value and JSON form', () => {
    const text = `client_token=abcd1234efgh5678 {"root_token":"r00t-t0ken-value"} password: hunter2hunter2`;

    const scrubbed = scrubSecrets(text);

    for (const secret of ['abcd1234efgh5678', 'r00t-t0ken-value', 'hunter2hunter2']) {
      assert.ok(!scrubbed.includes(secret), `${secret} is redacted: ${scrubbed}`);
    }
  });
});

describe('secret scrubber: ordinary text is left alone', () => {
  it('leaves operator-facing messages without secrets unchanged', () => {
    const messages = [
      'Vault sys/storage/raft/snapshot at https://vault.example.com:8200 failed: HTTP 503',
      'snapshot archive is invalid: gzip stream ends early (truncated snapshot)',
      'S3 bucket "vault-snapshots" does not exist or this worker cannot reach it; create it or fix storage.bucket',
      'wrote secret/check_timestamp = 1764292953; Raft index 35, term 3',
      'connect ECONNREFUSED 127.0.0.1:8200',
      'status.ok and process.env.VAULT_ADDR are fine',
      '',
    ];
    for (const message of messages) assert.equal(scrubSecrets(message), message);
  });

  it('leaves a short s.-prefixed word (not a token) alone', () => {
    assert.equal(scrubSecrets('see s.snap and b.json'), 'see s.snap and b.json');
  });

  it('leaves an S3 object key after "key:" readable', () => {
    const message = 'uploaded key: vsnap/prod/2026-11-28T01-22-33.123Z.snap';

    assert.equal(scrubSecrets(message), message);
  });
});
