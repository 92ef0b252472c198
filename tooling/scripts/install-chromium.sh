#!/usr/bin/env bash
# Installs Debian's Chromium for the real-browser tests (driven by playwright-core, which downloads no browser).
# Without recommends: the hard dependencies only (about 360 MiB installed). Idempotent; run as root.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  echo "chromium already installed ($(chromium --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi
SUDO=''
if [ "$(id -u)" -ne 0 ]; then SUDO='sudo'; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "installed $(chromium --version)"
