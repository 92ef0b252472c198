#!/usr/bin/env bash
# Installs Debian's PyTorch (python3-torch, 1.13 on Debian 12) for @tinyformer/hf's check of exported folders
# against a PyTorch reference (packages/hf/test/pytorch.test.ts). No pip, no transformers. Idempotent; run as root.
set -euo pipefail

if /usr/bin/python3 -c 'import torch' >/dev/null 2>&1; then
  echo "python3-torch already installed ($(/usr/bin/python3 -c 'import torch; print(torch.__version__)'))"
  exit 0
fi
SUDO=''
if [ "$(id -u)" -ne 0 ]; then SUDO='sudo'; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends python3-torch python3-numpy >/dev/null
echo "installed torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)')"
