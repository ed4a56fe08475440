// loadConfig: the worker's configuration, from environment variables (the cron-job procedure's deployment) or
// a JSON file named by VSNAP_CONFIG. Every problem is listed in one ConfigError.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, type VsnapConfig } from '../../worker/config';
import { temporalConnectConfig } from '../../worker/temporal-connection';

const tmp = mkdtempSync(join(tmpdir(), 'vsnap-config-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let fileCount = 0;
/** Writes `content` (an object is JSON-encoded) to a fresh temp file and returns its path. */
function configFile(content: unknown): string {
  const path = join(tmp, `config-${++fileCount}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}

/** The environment the cron-job procedure's External Secret and Deployment give the worker. */
const CRON_JOB_ENV = {
  VAULT_ADDR: 'https://vault.example.com:8200',
  BUCKET_NAME: 'vault-snapshots',
  APPROLE_ROLE_ID: 'role-id-from-external-secret',
  APPROLE_SECRET_ID: 'secret-id-from-external-secret',
};

/** Asserts loadConfig(env) throws a ConfigError and returns its problems. */
function configProblems(env: NodeJS.ProcessEnv): string[] {
  let thrown: unknown;
  let config: VsnapConfig | undefined;
  try {
    config = loadConfig(env);
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown instanceof ConfigError, `expected a ConfigError, got ${config ? 'a config' : String(thrown)}`);
  for (const problem of thrown.problems) assert.ok(thrown.message.includes(problem), 'the message lists each problem');
  return thrown.problems;
}

function cluster(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    address: `https://${name}.vault.example.com:8200`,
    auth: { method: 'approle' },
    storage: { bucket: 'vault-snapshots' },
    ...extra,
  };
}

describe("config: the cron-job procedure's deployment, environment variables only", () => {
  it('builds one AppRole cluster from VAULT_ADDR, BUCKET_NAME and the APPROLE_* variable names', () => {
    const config = loadConfig({ ...CRON_JOB_ENV });

    assert.equal(config.clusters.length, 1);
    assert.deepEqual(config.clusters[0], {
      name: 'vault',
      address: 'https://vault.example.com:8200',
      auth: {
        method: 'approle',
        mount: 'approle',
        credentials: { source: 'env', roleIdEnv: 'APPROLE_ROLE_ID', secretIdEnv: 'APPROLE_SECRET_ID' },
      },
      storage: { bucket: 'vault-snapshots', prefix: 'vsnap/vault' },
      retention: { keep: 28 },
      canary: { mount: 'secret', path: 'check_timestamp' },
      protected: true,
    });
  });

  it('never copies the AppRole secrets themselves into the config, only the variable names', () => {
    const config = loadConfig({ ...CRON_JOB_ENV });

    const serialized = JSON.stringify(config);
    assert.ok(!serialized.includes(CRON_JOB_ENV.APPROLE_SECRET_ID));
    assert.ok(!serialized.includes(CRON_JOB_ENV.APPROLE_ROLE_ID));
  });

  it('leaves the Temporal connection to envconfig unless set; task queue "vsnap", 8 MiB parts, info logging', () => {
    const config = loadConfig({ ...CRON_JOB_ENV });

    assert.deepEqual(config.temporal, { taskQueue: 'vsnap' });
    const { connectionOptions, namespace } = temporalConnectConfig({}, { HOME: '/nonexistent' });
    assert.equal(connectionOptions.address, '127.0.0.1:7233');
    assert.equal(namespace, 'default');
    const set = loadConfig({ ...CRON_JOB_ENV, TEMPORAL_ADDRESS: 'temporal:7233', TEMPORAL_NAMESPACE: 'vault' });
    assert.deepEqual(set.temporal, { address: 'temporal:7233', namespace: 'vault', taskQueue: 'vsnap' });
    assert.deepEqual(config.aws, { s3ForcePathStyle: false });
    assert.equal(config.partSizeBytes, 8 * 1024 * 1024);
    assert.equal(config.logLevel, 'info');
  });

  it('honours the optional VSNAP_* overrides', () => {
    const config = loadConfig({
      ...CRON_JOB_ENV,
      VSNAP_CLUSTER: 'prod',
      VSNAP_PREFIX: 'backups/prod/',
      VSNAP_KEEP: '7',
      VSNAP_MAX_AGE_DAYS: '14',
      VSNAP_TASK_QUEUE: 'vsnap-prod',
      VSNAP_PART_SIZE_MIB: '16',
      VSNAP_APPROLE_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:vsnap-approle',
      AWS_REGION: 'eu-west-1',
    });

    const [prod] = config.clusters;
    assert.equal(prod.name, 'prod');
    assert.equal(prod.storage.prefix, 'backups/prod', 'trailing slashes are trimmed');
    assert.deepEqual(prod.retention, { keep: 7, maxAgeDays: 14 });
    assert.deepEqual(prod.auth, {
      method: 'approle',
      mount: 'approle',
      credentials: {
        source: 'secretsManager',
        secretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:vsnap-approle',
      },
    });
    assert.equal(config.temporal.taskQueue, 'vsnap-prod');
    assert.equal(config.partSizeBytes, 16 * 1024 * 1024);
    assert.equal(config.aws.region, 'eu-west-1');
  });

  it('lists both a missing VAULT_ADDR and a missing BUCKET_NAME in one ConfigError, by variable name', () => {
    const problems = configProblems({ APPROLE_ROLE_ID: 'r', APPROLE_SECRET_ID: 's' });

    assert.equal(problems.length, 2, problems.join('\n'));
    assert.ok(
      problems.some((p) => p.startsWith('VAULT_ADDR is required')),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => p.startsWith('BUCKET_NAME is required')),
      problems.join('\n'),
    );
  });

  it('rejects a VAULT_ADDR that is not an http(s) URL, naming the variable', () => {
    const problems = configProblems({ ...CRON_JOB_ENV, VAULT_ADDR: 'vault.example.com:8200' });

    assert.equal(problems.length, 1);
    assert.match(problems[0], /^VAULT_ADDR must be an http\(s\) URL .*, got "vault\.example\.com:8200"$/);
  });

  it('rejects a part size below the S3 minimum of 5 MiB and an unknown log level', () => {
    const problems = configProblems({ ...CRON_JOB_ENV, VSNAP_PART_SIZE_MIB: '4', LOG_LEVEL: 'verbose' });

    assert.equal(problems.length, 2, problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('VSNAP_PART_SIZE_MIB must be >= 5')));
    assert.ok(problems.some((p) => p.includes('LOG_LEVEL=verbose')));
  });
});

describe('config: a JSON file named by VSNAP_CONFIG', () => {
  it('reads the clusters from the file and fills in the defaults (prefix vsnap/<name>, canary, keep 28)', () => {
    const path = configFile({ clusters: [cluster('prod'), cluster('drill', { protected: false })] });

    const config = loadConfig({ VSNAP_CONFIG: path });

    assert.deepEqual(
      config.clusters.map((c) => c.name),
      ['prod', 'drill'],
    );
    const [prod, drill] = config.clusters;
    assert.equal(prod.storage.prefix, 'vsnap/prod');
    assert.equal(drill.storage.prefix, 'vsnap/drill');
    assert.deepEqual(prod.canary, { mount: 'secret', path: 'check_timestamp' });
    assert.deepEqual(prod.retention, { keep: 28 });
    assert.equal(prod.protected, true, 'a file cluster is protected unless it says otherwise');
    assert.equal(drill.protected, false);
    assert.equal(config.temporal.taskQueue, 'vsnap');
  });

  it('does not need VAULT_ADDR or BUCKET_NAME when a file is given', () => {
    const path = configFile({ clusters: [cluster('prod')] });

    assert.doesNotThrow(() => loadConfig({ VSNAP_CONFIG: path }));
  });

  it('reads Kubernetes and token auth with their defaults', () => {
    const path = configFile({
      clusters: [
        cluster('k8s', { auth: { method: 'kubernetes', role: 'vsnap' } }),
        cluster('tok', { auth: { method: 'token' } }),
      ],
    });

    const [k8s, tok] = loadConfig({ VSNAP_CONFIG: path }).clusters;

    assert.deepEqual(k8s.auth, {
      method: 'kubernetes',
      mount: 'kubernetes',
      role: 'vsnap',
      jwtPath: '/var/run/secrets/kubernetes.io/serviceaccount/token',
    });
    assert.deepEqual(tok.auth, { method: 'token', tokenEnv: 'VAULT_TOKEN' });
  });

  it('reads Object Lock and further copies, and names what is wrong with them', () => {
    const storage = {
      bucket: 'vault-snapshots',
      objectLock: { mode: 'COMPLIANCE', days: 30 },
      copies: [{ name: 'offsite', bucket: 'vault-snapshots-dr', region: 'eu-central-1', prefix: 'dr/prod/' }],
    };
    const [prod] = loadConfig({ VSNAP_CONFIG: configFile({ clusters: [cluster('prod', { storage })] }) }).clusters;
    assert.deepEqual(prod.storage.objectLock, { mode: 'COMPLIANCE', days: 30 });
    assert.deepEqual(prod.storage.copies, [
      { name: 'offsite', bucket: 'vault-snapshots-dr', region: 'eu-central-1', prefix: 'dr/prod' },
    ]);

    const bad = configProblems({
      VSNAP_CONFIG: configFile({
        clusters: [
          cluster('prod', {
            storage: { bucket: 'b', objectLock: { mode: 'LEGAL', days: 0 }, copies: [{ name: 'any', bucket: 'c' }] },
          }),
          cluster('drill', {
            storage: {
              bucket: 'b',
              copies: [
                { name: 'dr', bucket: 'c', region: 'eu-central-1' },
                { name: 'dr', bucket: 'd', region: 'us-east-1' },
              ],
            },
          }),
        ],
      }),
    });
    const expected = [
      'storage.objectLock.mode must be "GOVERNANCE" or "COMPLIANCE"',
      'storage.objectLock.days must be a whole number of days, 1 to 36500',
      'must not be "primary" or "any": restores use those words',
      'region is required',
      'copy name "dr" appears twice',
    ];
    for (const text of expected)
      assert.ok(
        bad.some((p) => p.includes(text)),
        `${text}\n${bad.join('\n')}`,
      );
  });

  it('reads retention.deleteBy "lifecycle" (vsnap deletes nothing), and refuses any other word', () => {
    const retention = { keep: 7, deleteBy: 'lifecycle' };
    const [prod] = loadConfig({ VSNAP_CONFIG: configFile({ clusters: [cluster('prod', { retention })] }) }).clusters;
    assert.deepEqual(prod.retention, { keep: 7, deleteBy: 'lifecycle' });

    const bad = configProblems({
      VSNAP_CONFIG: configFile({ clusters: [cluster('prod', { retention: { deleteBy: 'never' } })] }),
    });
    assert.ok(
      bad.some((p) => p.includes('retention.deleteBy must be "vsnap" or "lifecycle"')),
      bad.join('\n'),
    );
  });

  it('lists a duplicate cluster name, a bad auth method and retention.keep 0 together, each with its place', () => {
    const path = configFile({
      clusters: [
        cluster('prod'),
        cluster('prod', { auth: { method: 'ldap' } }),
        cluster('drill', { retention: { keep: 0 } }),
      ],
    });

    const problems = configProblems({ VSNAP_CONFIG: path });

    assert.equal(problems.length, 3, problems.join('\n'));
    assert.ok(
      problems.some((p) => p.includes('cluster name "prod" appears twice')),
      problems.join('\n'),
    );
    assert.ok(
      problems.some(
        (p) => p.includes('clusters[1]: auth.method must be one of approle, kubernetes, token') && p.includes('"ldap"'),
      ),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => p.includes('clusters[2]: retention.keep must be an integer >= 1, got 0')),
      problems.join('\n'),
    );
    for (const problem of problems) assert.ok(problem.startsWith(path), `"${problem}" names the file`);
  });

  it('names the path when the file does not exist', () => {
    const missing = join(tmp, 'no-such-config.json');

    const problems = configProblems({ VSNAP_CONFIG: missing });

    assert.equal(problems.length, 1);
    assert.ok(problems[0].includes(missing), problems[0]);
    assert.match(problems[0], /no such file/);
  });

  it('names the path when the file is not JSON', () => {
    const path = configFile('clusters: [prod]');

    const problems = configProblems({ VSNAP_CONFIG: path });

    assert.equal(problems.length, 1);
    assert.ok(problems[0].startsWith(`${path}: not valid JSON`), problems[0]);
  });

  it('rejects a file without a non-empty clusters array', () => {
    assert.match(configProblems({ VSNAP_CONFIG: configFile({}) })[0], /clusters must be a non-empty array/);
    assert.match(configProblems({ VSNAP_CONFIG: configFile({ clusters: [] }) })[0], /non-empty array/);
    assert.match(configProblems({ VSNAP_CONFIG: configFile([cluster('prod')]) })[0], /must hold a JSON object/);
  });

  it('rejects a caCertFile that does not exist', () => {
    const path = configFile({ clusters: [cluster('prod', { caCertFile: join(tmp, 'missing-ca.pem') })] });

    const problems = configProblems({ VSNAP_CONFIG: path });

    assert.equal(problems.length, 1);
    assert.match(problems[0], /caCertFile .*missing-ca\.pem does not exist/);
  });
});

describe('config: the file is checked by its schema (config/cluster-schema.ts), then by what a schema cannot say', () => {
  it('takes a "$schema" key, which editors read and vsnap ignores', () => {
    const path = configFile({ $schema: '../../schemas/vsnap-config.schema.json', clusters: [cluster('prod')] });

    assert.deepEqual(
      loadConfig({ VSNAP_CONFIG: path }).clusters.map((c) => c.name),
      ['prod'],
    );
  });

  it('refuses a misspelt field rather than ignore it, listing the fields allowed there', () => {
    const path = configFile({ clusters: [cluster('drill', { protectd: false })], clusterz: [] });

    const problems = configProblems({ VSNAP_CONFIG: path });

    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(problems[0], /clusters\[0\]: protectd is not a known field; allowed here: name, address, .*protected/);
    assert.equal(problems[1], `${path}: clusterz is not a known field; allowed here: $schema, clusters`);
  });

  it('names the field, the fix and the value given, down to nested fields', () => {
    const path = configFile({
      clusters: [
        cluster('prod', {
          auth: { method: 'approle', credentials: { source: 'secretsManager' } },
          storage: { bucket: 'vault-snapshots', kmsKeyId: '' },
          keyShares: { source: 'vault' },
          canary: { mount: 7 },
        }),
        3,
      ],
    });

    const problems = configProblems({ VSNAP_CONFIG: path });

    assert.deepEqual(
      problems.map((p) => p.slice(path.length + 2)),
      [
        'clusters[0]: auth.credentials.secretId is required (the Secrets Manager secret name or ARN)',
        'clusters[0]: storage.kmsKeyId must not be empty; leave the field out instead, got ""',
        'clusters[0]: canary.mount must be a string (a KV v2 mount), got 7',
        'clusters[0]: keyShares.source must be one of secretsManager, file, env, got "vault"',
        'clusters[1] must be an object, got 3',
      ],
    );
  });

  it('runs the checks a schema cannot make beside its problems, in the same pass', () => {
    const path = configFile({
      clusters: [
        cluster('prod', { auth: { method: 'ldap' }, caCertFile: join(tmp, 'missing-ca.pem') }),
        cluster('drill', { drillSource: 'staging' }),
        cluster('dr', { drillSource: 'dr' }),
      ],
    });

    const problems = configProblems({ VSNAP_CONFIG: path });

    assert.equal(problems.length, 4, problems.join('\n'));
    assert.match(problems[0], /clusters\[0\]: auth\.method must be one of approle, kubernetes, token, got "ldap"/);
    assert.match(problems[1], /clusters\[0\]: caCertFile .*missing-ca\.pem does not exist/);
    assert.match(
      problems[2],
      /clusters\[1\]: drillSource "staging" is not a configured cluster \(configured: prod, drill, dr\)/,
    );
    assert.match(problems[3], /clusters\[2\]: drillSource "dr" is this cluster itself/);
  });

  it('names the variable, not the field, of a bad env-mode value', () => {
    const problems = configProblems({
      ...CRON_JOB_ENV,
      VSNAP_AUTH_METHOD: 'ldap',
      VSNAP_KEEP: 'all',
      VSNAP_CLUSTER: 'Prod',
    });

    assert.deepEqual(problems, [
      'VSNAP_CLUSTER must be lowercase letters, digits and dashes (at most 63), e.g. "prod", got "Prod"',
      'VSNAP_AUTH_METHOD must be one of approle, kubernetes, token, got "ldap"',
      'VSNAP_KEEP must be an integer >= 1, got "all"',
    ]);
  });

  it('builds the env-mode cluster through the same schema: Kubernetes auth and its defaults', () => {
    const [vault] = loadConfig({ ...CRON_JOB_ENV, VSNAP_AUTH_METHOD: 'kubernetes', VSNAP_K8S_ROLE: 'vsnap' }).clusters;

    assert.deepEqual(vault.auth, {
      method: 'kubernetes',
      mount: 'kubernetes',
      role: 'vsnap',
      jwtPath: '/var/run/secrets/kubernetes.io/serviceaccount/token',
    });
    assert.match(
      configProblems({ ...CRON_JOB_ENV, VSNAP_AUTH_METHOD: 'kubernetes' })[0],
      /^VSNAP_K8S_ROLE is required \(the Vault role name/,
    );
  });
});

describe('config: every cluster is protected (restores need an approval) unless it says otherwise', () => {
  it('protects a file cluster without "protected", and leaves one with "protected": false unprotected', () => {
    const path = configFile({
      clusters: [cluster('prod'), cluster('drill', { protected: false }), cluster('dr', { protected: true })],
    });

    const [prod, drill, dr] = loadConfig({ VSNAP_CONFIG: path }).clusters;

    assert.equal(prod.protected, true, 'no "protected" field: protected');
    assert.equal(drill.protected, false);
    assert.equal(dr.protected, true);
  });

  it('refuses a "protected" that is not a boolean, such as "false" in quotes, rather than guess', () => {
    const path = configFile({ clusters: [cluster('drill', { protected: 'false' })] });

    const problems = configProblems({ VSNAP_CONFIG: path });

    assert.equal(problems.length, 1, problems.join('\n'));
    assert.ok(problems[0].includes('clusters[0]: protected must be true or false (default true), got "false"'));
  });

  it('protects the env-mode cluster unless VSNAP_PROTECTED=false', () => {
    assert.equal(loadConfig({ ...CRON_JOB_ENV }).clusters[0].protected, true);
    assert.equal(loadConfig({ ...CRON_JOB_ENV, VSNAP_PROTECTED: '' }).clusters[0].protected, true);
    assert.equal(loadConfig({ ...CRON_JOB_ENV, VSNAP_PROTECTED: 'true' }).clusters[0].protected, true);
    assert.equal(loadConfig({ ...CRON_JOB_ENV, VSNAP_PROTECTED: 'false' }).clusters[0].protected, false);
  });

  it('refuses a VSNAP_PROTECTED other than true or false, naming the variable', () => {
    const problems = configProblems({ ...CRON_JOB_ENV, VSNAP_PROTECTED: 'no' });

    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0], /^VSNAP_PROTECTED must be true or false \(default true\), got "no"/);
  });
});

describe('config: how vsnap reaches Vault (plain http only by choice, mutual TLS files in pairs)', () => {
  const risk = /plain http: vsnap would send Vault tokens, AppRole secret IDs and key shares unencrypted/;

  it('refuses an http:// address in a config file, naming the risk and "allowInsecureHttp"', () => {
    const path = configFile({ clusters: [cluster('dev', { address: 'http://127.0.0.1:8200' })] });

    const problems = configProblems({ VSNAP_CONFIG: path });

    assert.equal(problems.length, 1, problems.join('\n'));
    assert.ok(problems[0].startsWith(`${path}: clusters[0]: address http://127.0.0.1:8200`), problems[0]);
    assert.match(problems[0], risk);
    assert.match(problems[0], /set "allowInsecureHttp": true \(VSNAP_ALLOW_INSECURE_HTTP=true\)/);
  });

  it('loads an http:// address in a config file that sets "allowInsecureHttp": true', () => {
    const path = configFile({
      clusters: [cluster('dev', { address: 'http://127.0.0.1:8200', allowInsecureHttp: true })],
    });

    const [dev] = loadConfig({ VSNAP_CONFIG: path }).clusters;

    assert.equal(dev.address, 'http://127.0.0.1:8200');
    assert.equal(dev.allowInsecureHttp, true);
  });

  it('refuses allowInsecureHttp that is not a boolean, such as "true" in quotes', () => {
    const path = configFile({
      clusters: [cluster('dev', { address: 'http://127.0.0.1:8200', allowInsecureHttp: 'true' })],
    });

    const problems = configProblems({ VSNAP_CONFIG: path });

    assert.ok(
      problems.some((p) => p.includes('clusters[0]: allowInsecureHttp must be true or false')),
      problems.join('\n'),
    );
  });

  it('refuses VAULT_ADDR=http://… in env mode, naming the variable, the risk and VSNAP_ALLOW_INSECURE_HTTP', () => {
    const problems = configProblems({ ...CRON_JOB_ENV, VAULT_ADDR: 'http://vault.internal:8200' });

    assert.equal(problems.length, 1, problems.join('\n'));
    assert.ok(problems[0].startsWith('VAULT_ADDR http://vault.internal:8200'), problems[0]);
    assert.match(problems[0], risk);
    assert.match(problems[0], /VSNAP_ALLOW_INSECURE_HTTP=true/);
  });

  it('loads VAULT_ADDR=http://… in env mode with VSNAP_ALLOW_INSECURE_HTTP=true, and only with "true"', () => {
    const [vault] = loadConfig({
      ...CRON_JOB_ENV,
      VAULT_ADDR: 'http://vault.internal:8200',
      VSNAP_ALLOW_INSECURE_HTTP: 'true',
    }).clusters;

    assert.equal(vault.address, 'http://vault.internal:8200');
    assert.equal(vault.allowInsecureHttp, true);
    const problems = configProblems({
      ...CRON_JOB_ENV,
      VAULT_ADDR: 'http://vault.internal:8200',
      VSNAP_ALLOW_INSECURE_HTTP: '1',
    });
    assert.match(problems[0], risk);
  });

  it('reads tlsServerName, the client certificate pair and the namespace from env and from a file', () => {
    const cert = join(tmp, 'client.pem');
    const key = join(tmp, 'client.key');
    writeFileSync(cert, 'not read here');
    writeFileSync(key, 'not read here');
    const path = configFile({
      clusters: [
        cluster('prod', {
          tlsServerName: 'vault.internal',
          clientCertFile: cert,
          clientKeyFile: key,
          namespace: '/team-a/',
        }),
      ],
    });

    const [fromFile] = loadConfig({ VSNAP_CONFIG: path }).clusters;
    const [fromEnv] = loadConfig({
      ...CRON_JOB_ENV,
      VAULT_TLS_SERVER_NAME: 'vault.internal',
      VAULT_CLIENT_CERT: cert,
      VAULT_CLIENT_KEY: key,
    }).clusters;

    for (const c of [fromFile, fromEnv]) {
      assert.equal(c.tlsServerName, 'vault.internal');
      assert.equal(c.clientCertFile, cert);
      assert.equal(c.clientKeyFile, key);
    }
    assert.equal(fromFile.namespace, 'team-a', 'slashes around the namespace are trimmed');
  });

  it('refuses a clientCertFile without its clientKeyFile', () => {
    const cert = join(tmp, 'lonely-client.pem');
    writeFileSync(cert, 'not read here');
    const path = configFile({ clusters: [cluster('prod', { clientCertFile: cert })] });

    const problems = configProblems({ VSNAP_CONFIG: path });

    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0], /clientCertFile and clientKeyFile go together/);
  });
});

describe('config: a drill on a throwaway server (drill.ephemeral)', () => {
  const keyShares = { source: 'env', name: 'PROD_UNSEAL_KEYS' };
  const ephemeral = {
    binary: '/opt/vsnap/drill-server',
    dataDir: '/var/lib/vsnap/drills',
    maxSnapshotBytes: 2 * 1024 ** 3,
    seal: { type: 'auto', stanzaFile: '/etc/vsnap/seal/prod-seal.hcl' },
  };

  it('reads binary, dataDir, the size cap and the seal as written', () => {
    const path = configFile({ clusters: [cluster('prod', { keyShares, drill: { ephemeral } })] });

    const [prod] = loadConfig({ VSNAP_CONFIG: path }).clusters;

    assert.deepEqual(prod.drill, { ephemeral });
  });

  it('takes a Shamir seal, unsealing with the cluster key shares', () => {
    const drill = { ephemeral: { ...ephemeral, seal: { type: 'shamir' } } };
    const path = configFile({ clusters: [cluster('prod', { keyShares, drill })] });

    assert.deepEqual(loadConfig({ VSNAP_CONFIG: path }).clusters[0].drill?.ephemeral.seal, { type: 'shamir' });
  });

  it('lists every bad field at once: relative paths, a size that is not a positive integer, an unknown seal', () => {
    const drill = { ephemeral: { binary: 'bao', dataDir: 'drills', maxSnapshotBytes: '1G', seal: { type: 'kms' } } };
    const path = configFile({ clusters: [cluster('prod', { keyShares, drill })] });

    const problems = configProblems({ VSNAP_CONFIG: path });

    assert.equal(problems.length, 4, problems.join('\n'));
    assert.match(problems[0], /drill\.ephemeral\.binary must be an absolute path .*got "bao"/);
    assert.match(problems[1], /drill\.ephemeral\.dataDir must be an absolute path .*got "drills"/);
    assert.match(problems[2], /drill\.ephemeral\.maxSnapshotBytes must be a positive integer .*got "1G"/);
    assert.match(
      problems[3],
      /drill\.ephemeral\.seal\.type must be "shamir" .* or "auto" with a "stanzaFile" .*got "kms"/,
    );
  });

  it('refuses an auto seal with no stanza file', () => {
    const drill = { ephemeral: { ...ephemeral, seal: { type: 'auto' } } };
    const path = configFile({ clusters: [cluster('prod', { keyShares, drill })] });

    const problems = configProblems({ VSNAP_CONFIG: path });

    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0], /seal\.stanzaFile must be the absolute path of an HCL file/);
  });

  it('refuses a drill without its ephemeral block', () => {
    const path = configFile({ clusters: [cluster('prod', { keyShares, drill: {} })] });

    const problems = configProblems({ VSNAP_CONFIG: path });

    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0], /drill\.ephemeral is required/);
  });

  it('refuses a drill on a cluster with no keyShares: the throwaway server could not be unsealed', () => {
    const path = configFile({ clusters: [cluster('prod', { drill: { ephemeral } })] });

    const problems = configProblems({ VSNAP_CONFIG: path });

    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(
      problems[0],
      /clusters\[0\]: keyShares is required with drill\.ephemeral: the throwaway server is unsealed/,
    );
  });

  it('reserves the name "ephemeral", which a restore target names the throwaway server by', () => {
    const path = configFile({ clusters: [cluster('ephemeral')] });

    const problems = configProblems({ VSNAP_CONFIG: path });

    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0], /name "ephemeral" is reserved/);
  });
});

describe('config: snapshot upload sizes and the Vault stream idle timeout', () => {
  it('defaults to 8 MiB parts, 4 in flight, S3 part limit, 30 s of Vault idle', () => {
    const config = loadConfig({ ...CRON_JOB_ENV });

    assert.equal(config.partSizeBytes, 8 * 1024 * 1024);
    assert.equal(config.uploadConcurrency, 4);
    assert.equal(config.maxUploadParts, 10_000);
    assert.equal(config.vaultStreamIdleSeconds, 30);
  });

  it('takes the bounds themselves: 5 MiB parts, 16 in flight (17 x 5 = 85 MiB), 1 s and 3600 s idle', () => {
    const low = loadConfig({
      ...CRON_JOB_ENV,
      VSNAP_PART_SIZE_MIB: '5',
      VSNAP_UPLOAD_CONCURRENCY: '16',
      VSNAP_VAULT_STREAM_IDLE_SECONDS: '1',
    });
    const high = loadConfig({
      ...CRON_JOB_ENV,
      VSNAP_VAULT_STREAM_IDLE_SECONDS: '3600',
      VSNAP_TEST_MAX_UPLOAD_PARTS: '4',
    });

    assert.equal(low.partSizeBytes, 5 * 1024 * 1024);
    assert.equal(low.uploadConcurrency, 16);
    assert.equal(low.vaultStreamIdleSeconds, 1);
    assert.equal(high.vaultStreamIdleSeconds, 3600);
    assert.equal(high.maxUploadParts, 4);
  });

  it('refuses a part size outside S3 bounds, naming both bounds and the value', () => {
    for (const value of ['4', '5121']) {
      const problems = configProblems({ ...CRON_JOB_ENV, VSNAP_PART_SIZE_MIB: value });

      assert.equal(problems.length, 1, problems.join('\n'));
      assert.match(problems[0], new RegExp(`VSNAP_PART_SIZE_MIB must be >= 5 .* and <= 5120 .*got ${value}`));
    }
  });

  it('refuses an upload concurrency outside 1 to 16', () => {
    for (const value of ['0', '17']) {
      const problems = configProblems({ ...CRON_JOB_ENV, VSNAP_UPLOAD_CONCURRENCY: value });

      assert.equal(problems.length, 1, problems.join('\n'));
      assert.match(problems[0], new RegExp(`VSNAP_UPLOAD_CONCURRENCY must be 1 to 16, got ${value}`));
    }
  });

  it('refuses part buffers over the 1024 MiB budget, with the sum and what to lower', () => {
    const problems = configProblems({ ...CRON_JOB_ENV, VSNAP_PART_SIZE_MIB: '256', VSNAP_UPLOAD_CONCURRENCY: '4' });

    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0], /VSNAP_UPLOAD_CONCURRENCY=4 with VSNAP_PART_SIZE_MIB=256/);
    assert.match(problems[0], /\(4 \+ 1\) x 256 MiB = 1280 MiB .* over the 1024 MiB vsnap allows: lower either/);
    assert.equal(
      loadConfig({ ...CRON_JOB_ENV, VSNAP_PART_SIZE_MIB: '256', VSNAP_UPLOAD_CONCURRENCY: '3' }).uploadConcurrency,
      3,
    );
  });

  it('reports a value that is not a number once, as not an integer', () => {
    const problems = configProblems({ ...CRON_JOB_ENV, VSNAP_PART_SIZE_MIB: 'lots' });

    assert.deepEqual(problems, ['VSNAP_PART_SIZE_MIB=lots must be an integer']);
  });

  it('refuses a Vault idle timeout outside 1 to 3600 s, saying what it is for', () => {
    for (const value of ['0', '3601']) {
      const problems = configProblems({ ...CRON_JOB_ENV, VSNAP_VAULT_STREAM_IDLE_SECONDS: value });

      assert.equal(problems.length, 1, problems.join('\n'));
      assert.match(problems[0], new RegExp(`VSNAP_VAULT_STREAM_IDLE_SECONDS must be 1 to 3600, got ${value}`));
      assert.match(problems[0], /how long Vault may send nothing/);
    }
  });

  it('reads a test-only Object Lock duration in seconds, and refuses one below 1', () => {
    assert.equal(loadConfig({ ...CRON_JOB_ENV }).testObjectLockSeconds, undefined);
    assert.equal(loadConfig({ ...CRON_JOB_ENV, VSNAP_TEST_OBJECT_LOCK_SECONDS: '3' }).testObjectLockSeconds, 3);
    const problems = configProblems({ ...CRON_JOB_ENV, VSNAP_TEST_OBJECT_LOCK_SECONDS: '0' });
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(
      problems[0],
      /VSNAP_TEST_OBJECT_LOCK_SECONDS must be a number of seconds >= 1, got 0; it exists for tests/,
    );
  });

  it('refuses a test part limit above S3 10,000 (or below 1): a store would reject part 10,001', () => {
    for (const value of ['0', '10001']) {
      const problems = configProblems({ ...CRON_JOB_ENV, VSNAP_TEST_MAX_UPLOAD_PARTS: value });

      assert.equal(problems.length, 1, problems.join('\n'));
      assert.match(problems[0], new RegExp(`VSNAP_TEST_MAX_UPLOAD_PARTS must be 1 to 10000 .*got ${value}`));
    }
  });
});
