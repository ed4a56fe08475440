#!/usr/bin/env bash
# Installs the browser the end-to-end test (test/e2e/temporal-ui.test.ts) drives: Debian's
# `chromium` package, run headless through playwright-core (no Playwright browser download).
# Idempotent: does nothing when /usr/bin/chromium is already there. Needs root and apt.
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
  echo "install-browser: /usr/bin/chromium already installed ($(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown')); nothing to do"
  exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
  echo "install-browser: /usr/bin/chromium is missing and installing it needs root (apt-get); re-run as root" >&2
  exit 1
fi

echo "install-browser: /usr/bin/chromium is missing; installing Debian's chromium package"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
echo "install-browser: installed $(/usr/bin/chromium --version)"
