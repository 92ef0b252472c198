#!/usr/bin/env bash
# Installs Mesa's lavapipe (software Vulkan) so the WebGPU backend can run on machines without a GPU (CI, dev boxes).
# Debian 12 ships Mesa 22 whose lavapipe Dawn rejects; bookworm-backports has 25.x. Idempotent; run as root.
# The backports mirror is taken from the existing Debian sources file, so no registry host is hard-coded here.
set -euo pipefail

ICD=/usr/share/vulkan/icd.d/lvp_icd.json
if [ -f "$ICD" ] && dpkg-query -W -f='${Status}' mesa-vulkan-drivers 2>/dev/null | grep -q 'install ok installed'; then
  echo "lavapipe already installed ($(dpkg-query -W -f='${Version}' mesa-vulkan-drivers))"
  exit 0
fi

SUDO=''
if [ "$(id -u)" -ne 0 ]; then SUDO='sudo'; fi

SRC=/etc/apt/sources.list.d/debian.sources
BPO=/etc/apt/sources.list.d/bpo.sources
if [ ! -f "$BPO" ]; then
  if [ ! -f "$SRC" ]; then
    echo "install-lavapipe: $SRC not found; add a bookworm-backports source by hand" >&2
    exit 1
  fi
  uri=$(awk '/^URIs:/{print $2; exit}' "$SRC")
  if [ -z "$uri" ]; then
    echo "install-lavapipe: no URIs: line in $SRC" >&2
    exit 1
  fi
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$uri" | $SUDO tee "$BPO" >/dev/null
  echo "install-lavapipe: added bookworm-backports source ($BPO)"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# mesa-vulkan-drivers from backports needs libdrm >= 2.4.121 from there too, hence -t
$SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null
if [ ! -f "$ICD" ]; then
  echo "install-lavapipe: $ICD missing after install" >&2
  exit 1
fi
echo "lavapipe installed ($(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)); ICD $ICD"
