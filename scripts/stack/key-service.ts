// The stack's key service: the `keys` OpenBao's transit engine, which auto-unseals prod and
// drill as a KMS key does in AWS. It holds one key; prod and drill reach it with a token that
// may only encrypt and decrypt with that key.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tlsServerName } from './layout';
import { activeNode, baoAddress, baoDir, stackCa, writeSecretFile } from './openbao';
import { idempotent } from './seed-clusters';

/** The transit key and mount of the key service that seal prod and drill. */
const TRANSIT = { mount: 'transit', key: 'vsnap-autounseal', policy: 'vsnap-autounseal' };

function sealTokenFile(): string {
  return join(baoDir('keys'), 'seal-token.json');
}

function readSealToken(): string {
  return (JSON.parse(readFileSync(sealTokenFile(), 'utf8')) as { token: string }).token;
}

/**
 * The key service's transit key and the token prod and drill seal with: a periodic token
 * limited to encrypt/decrypt with that key, which the seal renews while it runs. A token that
 * expired while the stack was down is replaced before prod and drill start.
 */
export async function ensureTransitKey(rootToken: string): Promise<void> {
  const vault = await activeNode('keys');
  const as = { token: rootToken };
  await idempotent(
    vault.request('enable transit', {
      method: 'POST',
      path: `/sys/mounts/${TRANSIT.mount}`,
      json: { type: 'transit' },
      ...as,
    }),
    /already in use/,
  );
  await vault.request('create seal key', {
    method: 'POST',
    path: `/${TRANSIT.mount}/keys/${TRANSIT.key}`,
    json: {},
    ...as,
  });
  const policy = `path "${TRANSIT.mount}/encrypt/${TRANSIT.key}" { capabilities = ["update"] }
path "${TRANSIT.mount}/decrypt/${TRANSIT.key}" { capabilities = ["update"] }
`;
  await vault.request('write seal policy', {
    method: 'PUT',
    path: `/sys/policies/acl/${TRANSIT.policy}`,
    json: { policy },
    ...as,
  });
  if (existsSync(sealTokenFile())) {
    const valid = await vault
      .request('seal token lookup', { method: 'GET', path: '/auth/token/lookup-self', token: readSealToken() })
      .then(() => true)
      .catch(() => false);
    if (valid) return;
  }
  const created = await vault.request<{ auth: { client_token: string } }>('create seal token', {
    method: 'POST',
    path: '/auth/token/create-orphan',
    json: { policies: [TRANSIT.policy], no_default_policy: true, period: '768h', display_name: 'vsnap-stack-seal' },
    ...as,
  });
  writeSecretFile(sealTokenFile(), JSON.stringify({ token: created.auth.client_token }));
}

/** The `seal "transit"` stanza of prod and drill (and of a scratch server that must share their key). */
export function transitSealStanza(): string {
  return `seal "transit" {
  address = "${baoAddress('keys')}"
  token = "${readSealToken()}"
  mount_path = "${TRANSIT.mount}/"
  key_name = "${TRANSIT.key}"
  tls_ca_cert = "${stackCa().caFile}"
  tls_server_name = "${tlsServerName('keys')}"
}
`;
}
