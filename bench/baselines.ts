// The comparison points, run with the real tools an operator would use:
//   limit    — Vault itself: the raw snapshot read to /dev/null, the raw snapshot-force upload;
//   cron-job — the procedure vsnap replaces, as a cron job runs it: `bao operator raft snapshot save`
//              then `aws s3 cp`, and `aws s3 cp` then `bao operator raft snapshot restore -force`.
// A restore counts as done at the same point for every method: the target is unsealed (with
// the source's keys, as the cron-job procedure does), active, and no longer knows a token created
// just before the restore (vsnap's own definition, activities/vault/restore-wait.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { unsealAndWaitForActive, waitUntilSnapshotTaken } from '../activities/vault/restore-wait';
import type { VaultHttp } from '../activities/vault/vault-http';
import { activeProdNode, type BenchContext, benchVault, tlsFlags } from './context';
import { runCommand, timed } from './run-command';

export class Baselines {
  private readonly dir = mkdtempSync(join(tmpdir(), 'vsnap-bench-'));
  private readonly prod: VaultHttp;
  private readonly drill: VaultHttp;

  constructor(private readonly ctx: BenchContext) {
    this.prod = benchVault(ctx.prod);
    this.drill = benchVault(ctx.drill);
  }

  /** The snapshot file the cron-job backup of `round` saved (kept for the raw restore). */
  snapshotFile(round: number): string {
    return join(this.dir, `cron-job-${round}.snap`);
  }

  private cronJobKey(round: number): string {
    return `${this.ctx.prefix}/cron-job/round-${round}.snap`;
  }

  /** curl reads the token from a 0600 file, so it never shows in the process list. */
  private tokenHeaderFile(token: string): string {
    const file = join(this.dir, 'token-header');
    writeFileSync(file, `X-Vault-Token: ${token}\n`, { mode: 0o600 });
    return file;
  }

  /** The aws cli's credentials and flags; `endpoint` is the S3 endpoint it talks to (the stack's by default). */
  private awsArgs(endpoint = this.ctx.s3Endpoint): { env: NodeJS.ProcessEnv; common: string[] } {
    const { env } = this.ctx;
    return {
      env: {
        AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY,
        AWS_DEFAULT_REGION: env.AWS_REGION,
      },
      common: ['--endpoint-url', endpoint, '--only-show-errors'],
    };
  }

  async limitBackup(): Promise<number> {
    const header = this.tokenHeaderFile(this.ctx.prodRootToken);
    const active = await activeProdNode(this.ctx);
    const tls = tlsFlags(this.ctx.prod, `${active.address}/v1/sys/storage/raft/snapshot`);
    return timed(() =>
      runCommand('curl', ['-sS', '--fail', '-o', '/dev/null', ...tls.curl, '-H', `@${header}`, tls.url]),
    );
  }

  /**
   * The least work a backup can be, for the overhead figure: read the snapshot and put it in
   * S3, in this process (no CLI start-up), with no login, canary, validation or manifest.
   */
  async rawPipelineBackup(s3: S3Client): Promise<number> {
    const active = await activeProdNode(this.ctx);
    return timed(async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of await active.openSnapshotStream(this.ctx.prodRootToken)) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      await s3.send(
        new PutObjectCommand({
          Bucket: this.ctx.bucket,
          Key: `${this.ctx.prefix}/raw/empty.snap`,
          Body: body,
          ...(this.ctx.kmsKeyId ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: this.ctx.kmsKeyId } : {}),
        }),
      );
    });
  }

  /** The cron-job procedure's two passes, timed together and each on its own (the upload alone is S3's floor). */
  async cronJobBackup(round: number): Promise<{ seconds: number; saveSeconds: number; uploadSeconds: number }> {
    const file = this.snapshotFile(round);
    const saveSeconds = await timed(() => this.saveSnapshot(file));
    const uploadSeconds = await this.awsUpload(file, this.cronJobKey(round));
    return { seconds: saveSeconds + uploadSeconds, saveSeconds, uploadSeconds };
  }

  /** A snapshot of prod saved as the cron-job procedure does, in this bench's scratch directory. */
  async saveSnapshotFile(name: string): Promise<string> {
    const file = join(this.dir, name);
    await this.saveSnapshot(file);
    return file;
  }

  /** `bao operator raft snapshot save FILE` from prod: the cron-job procedure's first pass. */
  private async saveSnapshot(file: string): Promise<void> {
    await runCommand(this.ctx.bao, ['operator', 'raft', 'snapshot', 'save', file], {
      VAULT_ADDR: this.prod.address,
      VAULT_TOKEN: this.ctx.prodRootToken,
      ...tlsFlags(this.ctx.prod, this.prod.address).baoEnv,
    });
  }

  /**
   * `aws s3 cp FILE s3://bucket/KEY` with the cli's defaults (10 concurrent 8 MiB parts), SSE-KMS
   * as vsnap, through `endpoint` (the stack's S3 unless given): the cron-job procedure's second
   * pass. Returns its seconds.
   */
  async awsUpload(file: string, key: string, endpoint?: string): Promise<number> {
    const aws = this.awsArgs(endpoint);
    const sse = this.ctx.kmsKeyId ? ['--sse', 'aws:kms', '--sse-kms-key-id', this.ctx.kmsKeyId] : [];
    const s3Url = `s3://${this.ctx.bucket}/${key}`;
    return timed(() => runCommand(this.ctx.aws, ['s3', 'cp', file, s3Url, ...sse, ...aws.common], aws.env));
  }

  async rawRestore(round: number): Promise<number> {
    const token = await this.preRestoreToken();
    const header = this.tokenHeaderFile(token);
    const tls = tlsFlags(this.ctx.drill, `${this.drill.address}/v1/sys/storage/raft/snapshot-force`);
    const file = this.snapshotFile(round);
    return timed(async () => {
      await runCommand('curl', [
        '-sS',
        '--fail',
        '-o',
        '/dev/null',
        ...tls.curl,
        '-H',
        `@${header}`,
        '--data-binary',
        `@${file}`,
        tls.url,
      ]);
      await this.waitForDrill(token);
    });
  }

  /** The cron-job procedure's restore: `aws s3 cp` to a file, then `bao operator raft snapshot restore -force`. */
  async cronJobRestore(round: number): Promise<number> {
    const token = await this.preRestoreToken();
    const file = join(this.dir, `fetched-${round}.snap`);
    const aws = this.awsArgs();
    try {
      return await timed(async () => {
        await runCommand(
          this.ctx.aws,
          ['s3', 'cp', `s3://${this.ctx.bucket}/${this.cronJobKey(round)}`, file, ...aws.common],
          aws.env,
        );
        await runCommand(this.ctx.bao, ['operator', 'raft', 'snapshot', 'restore', '-force', file], {
          VAULT_ADDR: this.drill.address,
          VAULT_TOKEN: token,
          ...tlsFlags(this.ctx.drill, this.drill.address).baoEnv,
        });
        await this.waitForDrill(token);
      });
    } finally {
      rmSync(file, { force: true });
    }
  }

  /**
   * A short-lived token on drill made just before the restore: the restored state cannot know
   * it, so "this token is gone" proves the restore was applied (drill's root token works until
   * the first restore, prod's after).
   */
  private async preRestoreToken(): Promise<string> {
    for (const root of [this.ctx.prodRootToken, this.ctx.drillRootToken]) {
      const created = await this.drill
        .request<{ auth: { client_token: string } }>('create pre-restore token', {
          method: 'POST',
          path: '/auth/token/create',
          json: { ttl: '15m', no_default_policy: false },
          token: root,
        })
        .catch(() => undefined);
      if (created) return created.auth.client_token;
    }
    throw new Error('neither prod nor drill root token works on drill: restart the stack ("npm run stack:up")');
  }

  private async waitForDrill(preRestoreToken: string): Promise<void> {
    await waitUntilSnapshotTaken([this.drill], preRestoreToken, { heartbeat: () => undefined });
    await unsealAndWaitForActive([this.drill], {
      keyrings: [{ label: "prod's key shares", load: () => Promise.resolve(this.ctx.prodKeys) }],
      heartbeat: () => undefined,
    });
  }

  removeSnapshotFile(round: number): void {
    rmSync(this.snapshotFile(round), { force: true });
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
