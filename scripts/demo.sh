#!/usr/bin/env bash
# npm run demo: the whole job end to end on the local stack. Brings the stack up (installing
# what is missing), starts a worker, backs up `prod`, runs a restore drill of that backup into
# `drill` and prints its report, then stops the worker.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

[[ -d node_modules ]] || npm ci --no-audit --no-fund
bash scripts/stack.sh up
set -a
# shellcheck disable=SC1091
. .stack/env
set +a
export VSNAP_TASK_QUEUE="vsnap-demo"

worker_log=".stack/demo-worker.log"
node --import tsx worker/main.ts >"$worker_log" 2>&1 &
worker_pid=$!
trap 'kill -TERM "$worker_pid" 2>/dev/null; wait "$worker_pid" 2>/dev/null || true' EXIT

for _ in $(seq 1 120); do
  grep -q '"vsnap worker started"' "$worker_log" && break
  kill -0 "$worker_pid" 2>/dev/null || { echo "demo: the worker exited; its log:" >&2; cat "$worker_log" >&2; exit 1; }
  sleep 0.5
done
grep -q '"vsnap worker started"' "$worker_log" || { echo "demo: the worker did not start within 60s; see $worker_log" >&2; exit 1; }

echo
echo "== vsnap backup --cluster prod"
node bin/vsnap.js backup --cluster prod --wait
echo
echo "== vsnap verify --cluster prod   (restore drill into drill)"
node bin/vsnap.js verify --cluster prod
echo
echo "== vsnap verify --cluster prod --target ephemeral   (restore drill on a throwaway server)"
node bin/vsnap.js verify --cluster prod --target ephemeral
echo
# An accident: someone overwrites one secret in prod. Recover brings back the backed-up
# version of just that secret, as a new version, and prints names, never values.
echo "== an operator overwrites secret/apps/billing/database in prod by mistake"
VAULT_ADDR="$VSNAP_PROD_ADDR" VAULT_CACERT="$VSNAP_STACK_CA_FILE" VAULT_TLS_SERVER_NAME=prod.vsnap.internal \
  VAULT_TOKEN="$VSNAP_PROD_ROOT_TOKEN" .tools/venv/bin/bao kv patch -mount=secret apps/billing/database \
  password=overwritten-by-mistake >/dev/null
echo
echo "== vsnap recover --cluster prod --path secret/apps/billing/database --self-approve --approver demo"
node bin/vsnap.js recover --cluster prod --path secret/apps/billing/database --self-approve --approver demo
echo
echo "Worker log: $worker_log   Temporal UI: $VSNAP_TEMPORAL_UI"
