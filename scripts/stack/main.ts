// `npm run stack:up | stack:down [-- --purge] | stack:status`: the real local stack that the
// demo and the tests run against. See README "Local stack".
import '../../worker/quiet-sdk-warnings';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  aws,
  baoClusters,
  baoNodes,
  codecKeysFile,
  configFile,
  drillsDir,
  envFile,
  ports,
  prodSealStanzaFile,
  SEAL_TYPES,
  type SealType,
  stackDir,
  tlsServerName,
  toolsBin,
} from './layout';
import { ensureTransitKey } from './key-service';
import {
  activeNode,
  baoAddress,
  type BaoInit,
  ensureBao,
  isNodeRunning,
  nodeAddress,
  nodeProcess,
  readInit,
  stackCa,
  workingRootToken,
  writeSecretFile,
} from './openbao';
import { seedRealisticData } from './prod-data';
import { ensureProdLoadBalancer, prodLoadBalancerProcess } from './prod-load-balancer';
import { runningPid, stopProcess } from './processes';
import { sealStanza } from './seals';
import { seedDrill, seedProd } from './seed-clusters';
import {
  codecEndpoint,
  codecServerProcess,
  ensureCodecServer,
  ensureMoto,
  ensureTemporal,
  motoEndpoint,
  motoProcess,
  seedAws,
  temporalAddress,
  temporalProcess,
} from './services';

const USAGE = `usage: stack.sh up [--seal transit|shamir|static] | down [--purge] | status

  up       install the pinned servers if missing, start Temporal (its UI decoding through
           a vsnap codec server), moto, the OpenBao key
           service, prod (three Raft nodes behind a TCP load balancer) and drill on
           loopback, all OpenBao listeners on TLS from a private CA made here; initialise,
           unseal and seed them, and write .stack/env. Idempotent.
  down     stop every stack process. --purge also deletes .stack/ (all data and keys).
  status   print each service and whether it is running.

  --seal   how prod and drill unseal (default: $VSNAP_STACK_SEAL or transit): transit
           (auto-unseal by the key service, as a KMS seal), static (a shared key file) or
           shamir (unseal keys). A stack keeps the seal it was created with; change it with
           down --purge first.`;

function sealOption(args: string[]): SealType {
  const i = args.indexOf('--seal');
  const raw = i >= 0 ? args[i + 1] : process.env.VSNAP_STACK_SEAL || undefined;
  const chosen = raw ?? existingSeal() ?? 'transit';
  if (!SEAL_TYPES.includes(chosen as SealType)) {
    throw new UsageError(`--seal ${chosen} is not a seal type; use one of: ${SEAL_TYPES.join(', ')}`);
  }
  const existing = existingSeal();
  if (existing && existing !== chosen) {
    throw new UsageError(
      `the stack in .stack/ was created with --seal ${existing}; run "npm run stack:down -- --purge" to recreate it with ${chosen}`,
    );
  }
  return chosen as SealType;
}

class UsageError extends Error {}

function existingSeal(): SealType | undefined {
  const file = join(stackDir, 'seal');
  return existsSync(file) ? (readFileSync(file, 'utf8').trim() as SealType) : undefined;
}

async function up(args: string[]): Promise<void> {
  const seal = sealOption(args);
  if (existsSync(join(stackDir, 'bao-prod', 'data'))) {
    throw new UsageError(
      '.stack/ holds a stack of an older layout (one plain-HTTP prod node); run "npm run stack:down -- --purge" first',
    );
  }
  mkdirSync(stackDir, { recursive: true });
  writeFileSync(join(stackDir, 'seal'), seal);
  stackCa();

  step('temporal');
  await ensureTemporal();
  step('codec server (the UI decodes payloads through it)');
  ensureCodecKeys();
  await ensureCodecServer();
  step('moto');
  await ensureMoto();
  step('openbao-keys (the key service)');
  const keysInit = await ensureBao('keys', { type: 'shamir', stanza: '' }, () => []);
  await ensureTransitKey(keysInit.rootToken);
  step('openbao-prod (3 nodes)');
  // After the key service: the transit stanza carries its token.
  const sealConfig = { type: seal, stanza: sealStanza(seal) };
  const prodInit = await ensureBao('prod', sealConfig, () => []);
  await ensureProdLoadBalancer();
  step('openbao-drill');
  const drillInit = await ensureBao('drill', sealConfig, () => [prodInit]);
  const drillToken = await workingRootToken('drill', [drillInit, prodInit]);

  step('seed prod');
  const approle = await seedProd(prodInit.rootToken);
  await seedRealisticData(await activeNode('prod'), prodInit.rootToken, (m) => console.error(`stack:   ${m}`));
  await seedDrill(drillToken);
  step('seed AWS');
  const { kmsKeyId } = await seedAws({
    agent: {
      APPROLE_ROLE_ID: approle.roleId,
      APPROLE_SECRET_ID: approle.secretId,
      VAULT_ADDR: baoAddress('prod'),
      BUCKET_NAME: aws.bucket,
    },
    keyShares: { prod: keySharesSecret(prodInit), drill: keySharesSecret(drillInit) },
  });

  writeConfig(kmsKeyId, seal);
  writeEnv({ seal, prodRootToken: prodInit.rootToken, drillRootToken: drillToken, kmsKeyId });
  console.error(`stack: up (seal ${seal}). Temporal UI http://127.0.0.1:${ports.temporalUi}; env in ${envFile}`);
}

/**
 * What a cluster's key-shares secret holds: with auto-unseal, the one recovery key under
 * `recovery_key`, as the cron-job procedure stores it; with Shamir, the unseal keys and threshold.
 */
function keySharesSecret(init: BaoInit): Record<string, unknown> {
  if (init.seal !== 'shamir' && init.keys.length === 1) return { recovery_key: init.keys[0] };
  return { keys: init.keys, threshold: init.threshold };
}

/** Payload encryption keys for the stack: made once, kept across restarts (histories stay readable). */
function ensureCodecKeys(): void {
  if (existsSync(codecKeysFile)) return;
  const id = 'local-1';
  writeFileSync(codecKeysFile, JSON.stringify({ current: id, keys: { [id]: randomBytes(32).toString('base64') } }), {
    mode: 0o600,
  });
}

function step(name: string): void {
  console.error(`stack: ${name}...`);
}

/** The vsnap config the demo and tests use: prod and drill, credentials as the cron-job procedure stores them. */
function writeConfig(kmsKeyId: string, seal: SealType): void {
  const cluster = (name: 'prod' | 'drill', extra: Record<string, unknown>) => ({
    name,
    address: baoAddress(name),
    caCertFile: stackCa().caFile,
    tlsServerName: tlsServerName(name),
    storage: { bucket: aws.bucket, prefix: `vsnap/${name}`, kmsKeyId },
    retention: { keep: 28, maxAgeDays: 30 },
    ...extra,
  });
  const config = {
    clusters: [
      cluster('prod', {
        auth: { method: 'approle', credentials: { source: 'secretsManager', secretId: aws.agentSecretId } },
        keyShares: { source: 'secretsManager', secretId: aws.keySharesSecretId('prod') },
        protected: true,
        drill: { ephemeral: ephemeralDrill(seal) },
      }),
      cluster('drill', {
        auth: { method: 'token', tokenEnv: 'VSNAP_DRILL_TOKEN' },
        keyShares: { source: 'secretsManager', secretId: aws.keySharesSecretId('drill') },
        drillSource: 'prod',
        // Clusters are protected by default; the drill cluster exists to be overwritten unattended.
        protected: false,
      }),
    ],
  };
  writeFileSync(configFile, JSON.stringify(config, null, 2) + '\n');
}

/**
 * prod's throwaway drill servers: the stack's bao, under .stack/drills, unsealed as prod is
 * (its shares with Shamir, its seal stanza otherwise). `verify --target ephemeral` and
 * `recover` use it; a config without the drill cluster drills prod on it by default.
 */
function ephemeralDrill(seal: SealType): Record<string, unknown> {
  mkdirSync(drillsDir, { recursive: true, mode: 0o700 });
  let sealConfig: Record<string, unknown> = { type: 'shamir' };
  if (seal !== 'shamir') {
    writeSecretFile(prodSealStanzaFile, sealStanza(seal));
    sealConfig = { type: 'auto', stanzaFile: prodSealStanzaFile };
  }
  return { binary: join(toolsBin, 'bao'), dataDir: drillsDir, maxSnapshotBytes: 1024 ** 3, seal: sealConfig };
}

function writeEnv(v: { seal: SealType; prodRootToken: string; drillRootToken: string; kmsKeyId: string }): void {
  const env: Record<string, string> = {
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: 'default',
    VSNAP_TEMPORAL_UI: `http://127.0.0.1:${ports.temporalUi}`,
    VSNAP_CONFIG: configFile,
    // Every payload the stack's workers and CLI write is encrypted with these keys.
    VSNAP_CODEC_KEYS_FILE: codecKeysFile,
    // The same keys served over HTTP, as operators' CLIs and the UI reach them in production.
    VSNAP_STACK_CODEC_ENDPOINT: codecEndpoint,
    VSNAP_STACK_SEAL: v.seal,
    AWS_ENDPOINT_URL: motoEndpoint,
    AWS_REGION: aws.region,
    AWS_ACCESS_KEY_ID: aws.accessKeyId,
    AWS_SECRET_ACCESS_KEY: aws.secretAccessKey,
    VSNAP_S3_FORCE_PATH_STYLE: 'true',
    VSNAP_BUCKET: aws.bucket,
    VSNAP_KMS_KEY_ID: v.kmsKeyId,
    VSNAP_PROD_ADDR: baoAddress('prod'),
    VSNAP_DRILL_ADDR: baoAddress('drill'),
    VSNAP_KEYS_ADDR: baoAddress('keys'),
    // prod's nodes one by one, comma-separated, for tests that stop or watch a single node.
    VSNAP_PROD_NODE_ADDRS: baoNodes('prod').map(nodeAddress).join(','),
    VSNAP_STACK_CA_FILE: stackCa().caFile,
    // Test-only credentials of a throwaway local stack; the file is mode 0600 and ignored by git.
    VSNAP_PROD_ROOT_TOKEN: v.prodRootToken,
    VSNAP_DRILL_TOKEN: v.drillRootToken,
  };
  const text = Object.entries(env)
    .map(([k, val]) => `${k}=${val}`)
    .join('\n');
  writeFileSync(envFile, text + '\n', { mode: 0o600 });
}

async function down(args: string[]): Promise<void> {
  const procs = [
    codecServerProcess,
    temporalProcess,
    motoProcess,
    prodLoadBalancerProcess,
    ...baoClusters.flatMap((c) => baoNodes(c).map(nodeProcess)),
  ];
  for (const proc of procs) {
    if (await stopProcess(proc)) console.error(`stack: stopped ${proc.name}`);
  }
  if (args.includes('--purge')) {
    rmSync(stackDir, { recursive: true, force: true });
    console.error('stack: purged .stack/');
  }
}

function status(): number {
  const rows: [string, boolean, string][] = [
    ['temporal', runningPid(temporalProcess) !== undefined, temporalAddress],
    ['codec-server', runningPid(codecServerProcess) !== undefined, codecEndpoint],
    ['moto', runningPid(motoProcess) !== undefined, motoEndpoint],
    ['prod-lb', runningPid(prodLoadBalancerProcess) !== undefined, baoAddress('prod')],
    ...baoClusters.flatMap((c) =>
      baoNodes(c).map((n): [string, boolean, string] => [`openbao-${n.id}`, isNodeRunning(n), nodeAddress(n)]),
    ),
  ];
  for (const [name, running, where] of rows) {
    console.log(`${name.padEnd(16)} ${(running ? 'running' : 'stopped').padEnd(8)} ${where}`);
  }
  console.log(`seal           ${existingSeal() ?? '-'}`);
  console.log(`prod init      ${readInit('prod') ? 'yes' : 'no'}`);
  return rows.every(([, running]) => running) ? 0 : 1;
}

async function main(): Promise<number> {
  const [command, ...args] = process.argv.slice(2);
  switch (command) {
    case 'up':
      await up(args);
      return 0;
    case 'down':
      await down(args);
      return 0;
    case 'status':
      return status();
    default:
      console.error(USAGE);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`stack: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
