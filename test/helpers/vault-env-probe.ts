// Run as a child process by vault-env.test.ts, with node-vault's environment variables set to
// hostile values before anything is imported (the `debug` package reads DEBUG at load time).
// Talks to a TLS OpenBao through vsnap's Vault layer and prints what happened as one JSON line.
import { readFileSync } from 'node:fs';
import { VaultHttp } from '../../activities/vault/vault-http';

async function main(): Promise<void> {
  const address = process.env.PROBE_ADDR!;
  const token = process.env.PROBE_TOKEN!;
  const secret = process.env.PROBE_SECRET!;
  const trusted = new VaultHttp({ address, caCert: readFileSync(process.env.PROBE_CA_FILE!, 'utf8') });
  const untrusted = new VaultHttp({ address });

  const untrustedError = await untrusted.health().then(
    () => null,
    (err: Error) => err.message,
  );
  const untrustedStreamError = await untrusted.openSnapshotStream(token).then(
    (stream) => (stream.destroy(), null),
    (err: Error) => err.message,
  );
  await trusted.request('write probe', {
    method: 'POST',
    path: '/secret/data/probe',
    json: { data: { value: secret } },
    token,
  });
  const read = await trusted.request<{ data: { data: { value: string } } }>('read probe', {
    method: 'GET',
    path: '/secret/data/probe',
    token,
  });
  console.log(JSON.stringify({ untrustedError, untrustedStreamError, roundTrip: read.data.data.value === secret }));
}

main().catch((err: unknown) => {
  console.log(JSON.stringify({ failed: String(err) }));
  process.exitCode = 1;
});
