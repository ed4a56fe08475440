#!/usr/bin/env bash
# The local stack: `up`, `down [--purge]`, `status`. Installs what is missing first.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [[ "${1:-}" == "up" ]]; then
  bash scripts/install-tools.sh
fi
[[ -d node_modules ]] || npm ci --no-audit --no-fund
exec node --import tsx scripts/stack/main.ts "$@"
