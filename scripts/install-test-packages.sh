#!/usr/bin/env bash
# Installs the Debian packages the tests drive: `chromium` for the end-to-end test
# (test/e2e/temporal-ui.test.ts, headless through playwright-core, no Playwright browser
# download), and the `zsh` and `fish` shells the completion scripts are run in
# (test/unit/cli-completion.test.ts; bash is there already). Idempotent: installs only what is
# missing. Needs root and apt.
set -euo pipefail

missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
command -v zsh >/dev/null || missing+=(zsh)
command -v fish >/dev/null || missing+=(fish)

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-test-packages: chromium ($(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown')), zsh and fish already installed; nothing to do"
  exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
  echo "install-test-packages: ${missing[*]} missing and installing needs root (apt-get); re-run as root" >&2
  exit 1
fi

echo "install-test-packages: installing Debian's ${missing[*]}"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
echo "install-test-packages: installed ${missing[*]}"
