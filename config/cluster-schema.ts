// The config file's Vault clusters, as one schema: it validates the file (worker/config.ts), it
// types the parsed clusters for every layer (these types), and it generates
// schemas/vsnap-config.schema.json for editors (npm run schemas). What a schema cannot say (files
// that must exist, unique names, drillSource references, TLS pairs, plain http only by choice)
// worker/config.ts checks after it.
import { z } from 'zod';
import { requiredText, unionError } from './schema-problems';

/** Cluster names (and schedule ids): they end up in S3 prefixes, workflow ids and metric labels. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A path that must be absolute: a relative one would depend on where the worker was started. */
const absolutePath = (problem: string) => z.string({ error: problem }).regex(/^\//, { error: problem });

/** An optional string: left out, not empty, when it does not apply. */
const optionalText = (description: string) =>
  z
    .string({ error: 'must be a string' })
    .min(1, { error: 'must not be empty; leave the field out instead' })
    .optional()
    .describe(description);

const envName = (fallback: string, description: string) =>
  z
    .string()
    .regex(ENV_NAME, { error: 'must be an environment variable name (letters, digits and _)' })
    .default(fallback)
    .describe(description);

const mount = (fallback: string) =>
  requiredText('the path the auth method is mounted at')
    .default(fallback)
    .describe('Where the auth method is mounted.');

const AppRoleCredentialsSchema = z
  .discriminatedUnion('source', [
    z
      .strictObject({
        source: z.literal('env'),
        roleIdEnv: envName('APPROLE_ROLE_ID', 'The variable holding the role ID.'),
        secretIdEnv: envName('APPROLE_SECRET_ID', 'The variable holding the secret ID.'),
      })
      .describe(
        "Role and secret IDs from environment variables (the cron-job procedure's External Secret sets these).",
      ),
    z
      .strictObject({
        source: z.literal('secretsManager'),
        secretId: requiredText('the Secrets Manager secret name or ARN').describe(
          'The Secrets Manager secret name or ARN.',
        ),
      })
      .describe(
        'A Secrets Manager secret holding JSON with APPROLE_ROLE_ID and APPROLE_SECRET_ID, as the cron-job procedure stores it.',
      ),
  ])
  .prefault({ source: 'env' })
  .describe('Where the AppRole role and secret IDs come from (default: the APPROLE_* environment variables).');

const AUTH_FORMS = '{ "method": "approle" }, { "method": "kubernetes", "role": "..." } or { "method": "token" }';

const VaultAuthSchema = z
  .discriminatedUnion(
    'method',
    [
      z
        .strictObject({ method: z.literal('approle'), mount: mount('approle'), credentials: AppRoleCredentialsSchema })
        .describe('AppRole login.'),
      z
        .strictObject({
          method: z.literal('kubernetes'),
          mount: mount('kubernetes'),
          role: requiredText('the Vault role name, for Kubernetes auth').describe('The Vault role to log in as.'),
          jwtPath: requiredText('the service account token file')
            .default('/var/run/secrets/kubernetes.io/serviceaccount/token')
            .describe("The pod's service account token."),
        })
        .describe("Kubernetes login with the pod's service account token."),
      z
        .strictObject({
          method: z.literal('token'),
          tokenEnv: envName('VAULT_TOKEN', 'The variable holding the token.'),
        })
        .describe("A token from an environment variable. vsnap never revokes it: it is the operator's."),
    ],
    { error: unionError({ invalidType: AUTH_FORMS }) },
  )
  .describe('How vsnap logs in to Vault.');

export const KeySourceSchema = z
  .discriminatedUnion('source', [
    z.strictObject({
      source: z.literal('secretsManager'),
      secretId: requiredText('the secret name or ARN').describe('The Secrets Manager secret name or ARN.'),
    }),
    z.strictObject({
      source: z.literal('file'),
      path: requiredText('a mounted file with the shares').describe('A mounted file with the shares.'),
    }),
    z.strictObject({
      source: z.literal('env'),
      name: requiredText('the variable holding the shares').describe('The environment variable holding the shares.'),
    }),
  ])
  .describe(
    "This cluster's key shares (Shamir unseal keys, or recovery keys with auto-unseal), for regenerating a root " +
      'token and unsealing after a restore.',
  );

const SEAL_FORMS =
  '"shamir" (unseal with the cluster\'s key shares) or "auto" with a "stanzaFile" (the cluster\'s own auto-unseal)';

const SealSchema = z
  .discriminatedUnion(
    'type',
    [
      z.strictObject({ type: z.literal('shamir') }).describe("Unseal with the cluster's own Shamir unseal keys."),
      z
        .strictObject({
          type: z.literal('auto'),
          stanzaFile: absolutePath(
            "must be the absolute path of an HCL file holding the cluster's seal stanza",
          ).describe('An HCL file holding the cluster\'s `seal "awskms" {...}` or "transit" stanza.'),
        })
        .describe("The cluster's own auto-unseal; the cluster's keyShares are then its recovery keys."),
    ],
    {
      error: unionError({
        invalidType: '{ "type": "shamir" } or { "type": "auto", "stanzaFile": "/path/seal.hcl" }',
        unknownDiscriminator: SEAL_FORMS,
      }),
    },
  )
  .describe('How the restored server unseals.');

export const EphemeralDrillSchema = z
  .strictObject(
    {
      binary: absolutePath('must be an absolute path (a bao or vault binary, e.g. /usr/local/bin/bao)').describe(
        'A `bao` or `vault` binary at least as new as the cluster it rehearses.',
      ),
      dataDir: absolutePath(
        'must be an absolute path (a writable directory with room for 3x the largest snapshot)',
      ).describe("Where each throwaway server's Raft directory is made (and wiped); an emptyDir in Kubernetes."),
      maxSnapshotBytes: z
        .int({ error: 'must be a positive integer (bytes, e.g. 1073741824 for 1 GiB)' })
        .min(1, { error: 'must be a positive integer (bytes, e.g. 1073741824 for 1 GiB)' })
        .describe('Snapshots larger than this are refused before anything starts; size dataDir at 3x it.'),
      seal: SealSchema,
    },
    {
      error: (issue) =>
        issue.code === 'invalid_type' ? 'is required: { "binary", "dataDir", "maxSnapshotBytes", "seal" }' : undefined,
    },
  )
  .describe(
    'A throwaway server the worker starts beside itself, on loopback, to restore a snapshot into: for a restore ' +
      'drill with no standing drill cluster, and to read one secret out of a snapshot.',
  );

/** A cluster's fields as written; ClusterSchema fills in what depends on several of them. */
/** Names a restore may give in `from` besides a copy's name. */
export const RESERVED_COPY_NAMES = ['primary', 'any'] as const;

const ObjectLockSchema = z
  .strictObject({
    mode: z
      .enum(['GOVERNANCE', 'COMPLIANCE'], { error: 'must be "GOVERNANCE" or "COMPLIANCE"' })
      .describe(
        'COMPLIANCE: nobody, not even the account root, can delete or shorten the lock. GOVERNANCE: only a ' +
          'principal with s3:BypassGovernanceRetention can.',
      ),
    days: z
      .int({ error: 'must be a whole number of days, 1 to 36500' })
      .min(1, { error: 'must be a whole number of days, 1 to 36500' })
      .max(36500, { error: 'must be a whole number of days, 1 to 36500' })
      .describe('How long each snapshot and its manifest stay locked after they are written.'),
  })
  .describe(
    'S3 Object Lock retention written on each snapshot and its manifest; the bucket must have Object Lock enabled.',
  );

const StorageCopySchema = z
  .strictObject({
    name: z
      .string({ error: 'must name the copy, e.g. offsite' })
      .regex(NAME_PATTERN, { error: 'must be lowercase letters, digits and -, e.g. offsite' })
      .refine((n) => !(RESERVED_COPY_NAMES as readonly string[]).includes(n), {
        error: `must not be ${RESERVED_COPY_NAMES.map((n) => `"${n}"`).join(' or ')}: restores use those words`,
      })
      .describe('What restores call this copy (`from`), and how results and listings name it.'),
    bucket: requiredText('the S3 bucket of the copy').describe('The S3 bucket the copy is written to.'),
    region: requiredText('the AWS region of the bucket, e.g. eu-central-1').describe("The copy bucket's region."),
    prefix: z
      .string()
      .regex(/[^/]/, { error: 'must name a folder, e.g. vsnap/prod' })
      .transform((prefix) => prefix.replace(/\/+$/, ''))
      .optional()
      .describe("The copy's key prefix (default: the same as the cluster's own)."),
    kmsKeyId: optionalText("The KMS key (in the copy's region) the copy is encrypted with (SSE-KMS)."),
    roleArn: optionalText(
      'An IAM role the copy assumes to write (and read) the copy: for a bucket in another account.',
    ),
    objectLock: ObjectLockSchema.optional(),
  })
  .describe('One further copy of every snapshot and its manifest.');

export const ClusterFieldsSchema = z
  .strictObject({
    name: requiredText('a short lowercase name such as "prod"')
      .regex(NAME_PATTERN, { error: 'must be lowercase letters, digits and dashes (at most 63), e.g. "prod"' })
      .describe('The cluster\'s name in commands, schedules and S3 prefixes, e.g. "prod".'),
    address: requiredText('the Vault API address, e.g. https://vault.example.com:8200')
      .regex(/^https?:\/\/[^/]+/, { error: 'must be an http(s) URL such as https://vault.example.com:8200' })
      .describe('The Vault API address, e.g. https://vault.example.com:8200.'),
    caCertFile: optionalText("The CA certificate (PEM file) Vault's certificate is checked against."),
    tlsServerName: optionalText(
      "The name Vault's certificate is checked against when the address's host is not in it.",
    ),
    clientCertFile: optionalText(
      'A client certificate (PEM file) for listeners that require mutual TLS; set clientKeyFile too.',
    ),
    clientKeyFile: optionalText("The client certificate's key (PEM file); set clientCertFile too."),
    namespace: z
      .string()
      .regex(/[^/]/, { error: 'must name a namespace, e.g. team-a' })
      .transform((ns) => ns.replace(/^\/+|\/+$/g, ''))
      .optional()
      .describe("The namespace vsnap's calls are made in (Vault Enterprise, OpenBao); snapshots are root-only."),
    allowInsecureHttp: z
      .boolean({ error: 'must be true or false' })
      .optional()
      .describe(
        'Allows an http:// address: tokens, secret IDs and key shares would cross the network in clear. ' +
          'Only for a Vault reached over a trusted local link.',
      ),
    auth: VaultAuthSchema,
    storage: z
      .strictObject(
        {
          bucket: requiredText('the S3 bucket that holds snapshots').describe('The S3 bucket that holds snapshots.'),
          prefix: z
            .string()
            .regex(/[^/]/, { error: 'must name a folder, e.g. vsnap/prod (leave it out for vsnap/<name>)' })
            .transform((prefix) => prefix.replace(/\/+$/, ''))
            .optional()
            .describe(
              'The key prefix of this cluster\'s snapshots (default "vsnap/<name>"); trailing slashes are trimmed.',
            ),
          kmsKeyId: optionalText('The KMS key (id, ARN or alias) snapshots are encrypted with (SSE-KMS).'),
          objectLock: ObjectLockSchema.optional(),
          copies: z
            .array(StorageCopySchema, { error: 'must be an array of copies' })
            .optional()
            .describe(
              'Further copies of each snapshot and its manifest, made server-side after the backup and verified ' +
                'at their destination: another bucket, region or account.',
            ),
        },
        {
          error: (issue) =>
            issue.code === 'invalid_type'
              ? `${issue.input === undefined ? 'is required' : 'must be'}: { "bucket": "<the S3 bucket that holds snapshots>" }`
              : undefined,
        },
      )
      .describe('Where snapshots are stored.'),
    retention: z
      .strictObject({
        keep: z
          .int({ error: 'must be an integer >= 1' })
          .min(1, { error: 'must be an integer >= 1' })
          .default(28)
          .describe('Keep at most this many snapshots, newest first.'),
        maxAgeDays: z
          .number({ error: 'must be a number > 0' })
          .positive({ error: 'must be a number > 0' })
          .optional()
          .describe('Delete snapshots older than this many days.'),
        deleteBy: z
          .enum(['vsnap', 'lifecycle'], { error: 'must be "vsnap" or "lifecycle"' })
          .optional()
          .describe(
            'Who deletes old snapshots. "vsnap" (default): each backup deletes those beyond keep and maxAgeDays, ' +
              'never the newest valid one (with storage.objectLock, only once their lock has expired). ' +
              '"lifecycle": vsnap deletes nothing, so its role needs no s3:DeleteObject ' +
              "(deploy/aws/vsnap-worker-iam-policy-no-delete.json); the bucket's lifecycle rules expire snapshots, " +
              'and keep and maxAgeDays are not used.',
          ),
      })
      .prefault({})
      .describe('How many snapshots are kept (default: 28, of any age), and who deletes the others.'),
    canary: z
      .strictObject({
        mount: requiredText('a KV v2 mount').default('secret').describe('The KV v2 mount.'),
        path: requiredText('a path in the mount').default('check_timestamp').describe('The path in the mount.'),
      })
      .prefault({})
      .describe(
        "The KV v2 secret written before each snapshot and checked after a restore (the cron-job procedure's secret/check_timestamp).",
      ),
    protected: z
      .boolean({ error: 'must be true or false (default true)' })
      .default(true)
      .describe(
        'A protected cluster is never a restore target without an approval (the `approve` update). ' +
          'Forgetting the field must not expose production: only "protected": false turns it off.',
      ),
    keyShares: KeySourceSchema.optional(),
    drillSource: z
      .string()
      .regex(NAME_PATTERN, { error: 'must be the name of another configured cluster' })
      .optional()
      .describe(
        'For a drill cluster: the cluster whose snapshots it rehearses. Restores from that source into this ' +
          "cluster are declared intent (no `force` needed) and are `verify`'s default.",
      ),
    drill: z
      .strictObject({ ephemeral: EphemeralDrillSchema })
      .optional()
      .describe("How this cluster's snapshots are rehearsed when no drill cluster is configured for it."),
  })
  .meta({ title: 'Vault cluster' });

export const ClusterSchema = ClusterFieldsSchema.transform((cluster) => ({
  ...cluster,
  storage: { ...cluster.storage, prefix: cluster.storage.prefix ?? `vsnap/${cluster.name}` },
}));

/** The file VSNAP_CONFIG names. */
export const ConfigFileSchema = z
  .strictObject(
    {
      $schema: z
        .string()
        .optional()
        .describe(
          'The JSON Schema editors check this file against (schemas/vsnap-config.schema.json); vsnap ignores it.',
        ),
      clusters: z
        .array(ClusterSchema, { error: 'must be a non-empty array of clusters' })
        .min(1, { error: 'must be a non-empty array of clusters' })
        .describe('The Vault clusters this worker backs up, restores and drills.'),
    },
    {
      error: (issue) => (issue.code === 'invalid_type' ? 'must hold a JSON object with a "clusters" array' : undefined),
    },
  )
  .meta({
    title: 'vsnap worker configuration',
    description:
      'The Vault clusters a vsnap worker serves (the file VSNAP_CONFIG names). Connection, upload and logging ' +
      'settings are environment variables (README "Configuration").',
  });

export type ClusterConfig = z.output<typeof ClusterSchema>;
export type VaultAuthConfig = ClusterConfig['auth'];
export type AppRoleCredentialSource = Extract<VaultAuthConfig, { method: 'approle' }>['credentials'];
export type KeySourceConfig = z.output<typeof KeySourceSchema>;
/** One further copy of a cluster's snapshots (storage.copies). */
export type StorageCopyConfig = z.output<typeof StorageCopySchema>;
export type ObjectLockConfig = z.output<typeof ObjectLockSchema>;
export type EphemeralDrillConfig = z.output<typeof EphemeralDrillSchema>;
