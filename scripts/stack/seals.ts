// The seal stanza of prod and drill for each seal type of the stack. prod and drill share one
// key, as prod and its drill cluster share one KMS key in AWS: that is what lets a forced
// restore come back unsealed on its own.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { transitSealStanza } from './key-service';
import { type SealType, stackDir } from './layout';
import { writeSecretFile } from './openbao';

function staticKeyFile(): string {
  return join(stackDir, 'static-seal.key');
}

/** Empty for Shamir; for `static`, makes the shared key file on first use. */
export function sealStanza(seal: SealType): string {
  if (seal === 'shamir') return '';
  if (seal === 'transit') return transitSealStanza();
  if (!existsSync(staticKeyFile())) writeSecretFile(staticKeyFile(), randomBytes(32).toString('base64'));
  return `seal "static" {\n  current_key_id = "vsnap-local-1"\n  current_key = "file://${staticKeyFile()}"\n}\n`;
}
