// An operator's machine with no codec keys: `vsnap` encodes and decodes every payload through the
// codec server (`vsnap codec-server`, which holds the keys, as the worker does). S3 sits behind a
// proxy that caps each connection's bandwidth, so a backup of prod (~14 MiB, in 5 MiB parts, one
// at a time) takes about ten seconds: long enough for live progress.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startModelledNetwork, type ModelledNetwork } from '../../bench/modelled-network';
import { connectTemporal, type VsnapClient } from '../../client/connection';
import type { BackupResult } from '../../workflows/backup';
import { vsnap } from '../helpers/cli';
import { sharedFixture, uniqueId } from '../helpers/runs';
import { repoRoot, stackEnv } from '../helpers/stack';
import {
  startWorkerProcess,
  until,
  type WorkerProcess,
  workerStarted,
  writeWorkflowBundle,
} from '../helpers/worker-process';

const CODEC_PORT = 20160;
const S3_PROXY_PORT = 20161;
/** Nothing listens here: a codec server that is not there. */
const NO_CODEC_PORT = 20169;
/** ~14 MiB at this rate: about ten seconds. */
const S3_BYTES_PER_SECOND = 1_500_000;

/** The operator's machine: the stack's env without any codec key. */
const NO_KEYS: NodeJS.ProcessEnv = {
  VSNAP_CODEC_KEYS_FILE: undefined,
  VSNAP_CODEC_KEYS: undefined,
  VSNAP_CODEC_KEYS_KMS_CIPHERTEXT: undefined,
  VSNAP_CODEC_ENDPOINT: undefined,
  VSNAP_CODEC_AUTH: undefined,
};

/** A copy of prod's cluster as a person writes it in the config file, under an S3 prefix of its own. */
function isolatedProdConfig(name: string): Record<string, unknown> {
  const config = JSON.parse(readFileSync(stackEnv.VSNAP_CONFIG, 'utf8')) as { clusters: Record<string, unknown>[] };
  const prod = config.clusters.find((c) => c.name === 'prod')!;
  const storage = { ...(prod.storage as Record<string, unknown>), prefix: `test/${randomUUID().slice(0, 8)}/${name}` };
  return { ...prod, name, storage };
}

/** The byte counts of a run's progress lines, in the order printed ("5.0 MiB/~14.0 MiB" reads 5.0). */
function byteCounts(lines: string[]): number[] {
  return lines.flatMap((l) => {
    const m = /step snapshot .*?(\d+\.\d) MiB/.exec(l);
    return m ? [Number(m[1])] : [];
  });
}

function progressLines(text: string, workflowId: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`backup ${workflowId}  `));
}

describe('vsnap with no keys, through the codec server (real CLI, worker, codec server)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsnap-cli-codec-'));
  const taskQueue = `vsnap-cli-codec-test-${randomUUID().slice(0, 8)}`;
  const token = randomBytes(24).toString('base64url');
  const codecEndpoint = `http://127.0.0.1:${CODEC_PORT}`;
  const cluster = isolatedProdConfig('codec-prod');
  let network: ModelledNetwork;
  let worker: WorkerProcess | undefined;
  let codecServer: ChildProcess | undefined;
  let temporal: VsnapClient;

  /** `vsnap` on the operator's machine: no keys, this test's worker. */
  const operator = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    vsnap([...args, '--task-queue', taskQueue], { ...NO_KEYS, ...env });
  const throughCodec = { VSNAP_CODEC_ENDPOINT: codecEndpoint, VSNAP_CODEC_AUTH: `Bearer ${token}` };

  before(async () => {
    network = await startModelledNetwork(
      stackEnv.AWS_ENDPOINT_URL,
      { latencyMs: 0, bytesPerSecondPerConnection: S3_BYTES_PER_SECOND },
      { port: S3_PROXY_PORT },
    );
    const configFile = join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify({ clusters: [cluster] }));
    // The worker keeps the stack's keys (VSNAP_CODEC_KEYS_FILE): it encrypts what it writes.
    worker = startWorkerProcess({
      VSNAP_CONFIG: configFile,
      VSNAP_WORKFLOW_BUNDLE: await writeWorkflowBundle(dir),
      VSNAP_TASK_QUEUE: taskQueue,
      VSNAP_PART_SIZE_MIB: '5',
      VSNAP_UPLOAD_CONCURRENCY: '1',
      AWS_ENDPOINT_URL_S3: network.endpoint,
    });
    codecServer = spawn(
      process.execPath,
      [
        join(repoRoot, 'bin', 'vsnap.js'),
        'codec-server',
        '--port',
        String(CODEC_PORT),
        '--token-env',
        'TEST_CODEC_TOKEN',
      ],
      { env: { ...process.env, ...stackEnv, TEST_CODEC_TOKEN: token }, stdio: 'ignore' },
    );
    await until('the codec server listens', async () => (await fetch(`${codecEndpoint}/decode`)).status > 0);
    await workerStarted(worker);
    temporal = await connectTemporal({ taskQueue });
  });

  after(async () => {
    for (const child of [worker?.child, codecServer]) {
      if (child && child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    }
    await temporal?.close();
    await network?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The cluster's first backup, waited for by an operator with only --codec-endpoint and --codec-auth. */
  const firstBackup = sharedFixture(async () => {
    const workflowId = uniqueId('backup');
    const run = await operator([
      'backup',
      '--cluster',
      String(cluster.name),
      '--wait',
      '--id',
      workflowId,
      '--codec-endpoint',
      codecEndpoint,
      '--codec-auth',
      `Bearer ${token}`,
    ]);
    return { workflowId, ...run };
  });

  /** A second backup: `backup --wait --json` in one terminal, `vsnap watch` in another. */
  const watchedBackup = sharedFixture(async () => {
    await firstBackup(); // the size of the previous snapshot is what the bar counts towards
    const workflowId = uniqueId('backup');
    const waiting = operator(
      ['backup', '--cluster', String(cluster.name), '--wait', '--json', '--id', workflowId],
      throughCodec,
    );
    await until('the second backup started', async () => {
      await temporal.client.workflow.getHandle(workflowId).describe();
      return true;
    });
    const watched = await operator(['watch', workflowId], throughCodec);
    return { workflowId, watched, waited: await waiting };
  });

  test('backup --wait prints the decoded result on stdout and its progress on stderr', async () => {
    const { workflowId, code, stdout, stderr } = await firstBackup();
    assert.equal(code, 0, stderr);
    assert.match(stdout, new RegExp(`^Workflow\\s+${workflowId}\\n`));
    assert.match(stdout, /^Size\s+\d+ bytes$/m);
    assert.match(stdout, new RegExp(`^Key\\s+s3://\\S+/${(cluster.storage as { prefix: string }).prefix}/`, 'm'));
    assert.doesNotMatch(stdout, /running {2}step/, 'progress stays off stdout');
    const lines = progressLines(stderr, workflowId);
    assert.ok(
      lines.some((l) => / {2}running {2}step snapshot/.test(l)),
      `progress lines on stderr:\n${stderr}`,
    );
    assert.ok(byteCounts(lines).length > 0, `a line with the bytes stored so far:\n${stderr}`);
    assert.ok(!`${stdout}${stderr}`.includes(token), 'the codec token is never printed');
    // What the CLI sent went through the codec server's /encode: the run's input is encrypted.
    const history = await temporal.client.workflow.getHandle(workflowId).fetchHistory();
    const input = history.events?.[0].workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    assert.equal(Buffer.from(input?.metadata?.encoding ?? []).toString(), 'binary/encrypted');
  });

  test('vsnap watch follows a multi-second backup: growing bytes towards the last size, then exit 0', async () => {
    const { workflowId, watched, waited } = await watchedBackup();
    assert.equal(watched.code, 0, watched.stderr);
    const lines = progressLines(watched.stdout, workflowId);
    assert.match(lines.at(-1)!, / {2}completed {2}step done$/);
    const bytes = byteCounts(lines);
    assert.ok(new Set(bytes).size >= 2, `several byte counts:\n${watched.stdout}`);
    assert.deepEqual(
      bytes,
      [...bytes].sort((a, b) => a - b),
      `byte counts only grow:\n${watched.stdout}`,
    );
    assert.ok(
      lines.some((l) => /MiB\/~\d+\.\d MiB {2}ETA ~\d/.test(l)),
      `an ETA against the previous snapshot's size:\n${watched.stdout}`,
    );
    // The other terminal: --json keeps stdout one JSON document, progress goes to stderr.
    assert.equal(waited.code, 0, waited.stderr);
    const result = JSON.parse(waited.stdout) as { status: string; result: BackupResult };
    assert.equal(result.status, 'completed');
    assert.ok(result.result.size > 10 * 2 ** 20, `a ~14 MiB snapshot, got ${result.result.size} bytes`);
    assert.ok(progressLines(waited.stderr, workflowId).length > 0, waited.stderr);
  });

  test('with no keys and no codec endpoint, watch and status say the payloads are encrypted and what to set', async () => {
    const { workflowId } = await firstBackup();
    for (const command of ['watch', 'status']) {
      const res = await operator([command, workflowId]);
      assert.equal(res.code, 1, `${command}: ${res.stdout}${res.stderr}`);
      assert.match(
        res.stderr,
        new RegExp(
          `^vsnap ${command}: payloads are encrypted: set VSNAP_CODEC_ENDPOINT \\(or VSNAP_CODEC_KEYS_FILE\\)`,
        ),
      );
      assert.doesNotMatch(res.stderr, /Unknown encoding/);
    }
  });

  test('a wrong codec token is refused, naming the endpoint and the fix, never the token', async () => {
    const { workflowId } = await firstBackup();
    const wrong = `Bearer wrong-${randomBytes(8).toString('hex')}`;
    const status = await operator(['status', workflowId], {
      VSNAP_CODEC_ENDPOINT: codecEndpoint,
      VSNAP_CODEC_AUTH: wrong,
    });
    assert.equal(status.code, 1, status.stderr);
    assert.match(status.stderr, new RegExp(`codec server at ${codecEndpoint} refused to decode \\(HTTP 401\\)`));
    assert.match(status.stderr, /--codec-auth \(VSNAP_CODEC_AUTH\)/);
    const backupId = uniqueId('backup');
    const started = await operator(['backup', '--cluster', String(cluster.name), '--id', backupId], {
      VSNAP_CODEC_ENDPOINT: codecEndpoint,
      VSNAP_CODEC_AUTH: wrong,
    });
    assert.equal(started.code, 1);
    assert.match(started.stderr, /refused to encode \(HTTP 401\)/);
    const output = status.stdout + status.stderr + started.stdout + started.stderr;
    assert.ok(!output.includes(wrong.slice('Bearer '.length)), 'the auth value is never printed');
    await assert.rejects(temporal.client.workflow.getHandle(backupId).describe(), /not found/i, 'nothing started');
  });

  test('a codec server that is not there is named, with the setting to check', async () => {
    const { workflowId } = await firstBackup();
    const res = await operator(['status', workflowId, '--codec-endpoint', `http://127.0.0.1:${NO_CODEC_PORT}`]);
    assert.equal(res.code, 1);
    assert.match(
      res.stderr,
      new RegExp(
        `cannot reach the codec server at http://127.0.0.1:${NO_CODEC_PORT} \\(ECONNREFUSED\\): check --codec-endpoint`,
      ),
    );
  });
});
