#!/usr/bin/env bash
# Runs the WebGPU backend's test suite and benchmark on a machine with an NVIDIA GPU, against the hardware adapter.
# Dawn (the `webgpu` package) drives the GPU through Vulkan, so this needs the Vulkan loader (libvulkan1) and the
# NVIDIA Vulkan ICD, which ships with the driver (docs/gpujs-backend.md §6).
#   bash scripts/gpu-check.sh            tests + bench
#   bash scripts/gpu-check.sh --no-bench tests only
# Exit status: 0 when the hardware adapter was found and every test passed.
set -euo pipefail
cd "$(dirname "$0")/.."

run_bench=1
[ "${1:-}" = "--no-bench" ] && run_bench=0

say() { printf '\n=== %s\n' "$*"; }
die() { printf 'gpu-check: %s\n' "$*" >&2; exit 1; }

say "driver"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
else
  echo "nvidia-smi not found (continuing: the Vulkan ICD is what matters)"
fi
caps="${NVIDIA_DRIVER_CAPABILITIES:-}"
if [ -n "$caps" ] && ! printf '%s' "$caps" | grep -Eq 'all|graphics'; then
  # in containers the toolkit mounts libGLX_nvidia and the ICD only for the graphics capability
  echo "warning: NVIDIA_DRIVER_CAPABILITIES='$caps' lacks 'graphics': Vulkan may be missing in this container"
fi

say "Vulkan loader"
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  echo "libvulkan.so.1 missing; trying apt-get install libvulkan1 vulkan-tools"
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libvulkan1 vulkan-tools >/dev/null || true
  fi
  ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1' || die "no Vulkan loader (libvulkan.so.1); install libvulkan1"
fi
echo "libvulkan.so.1 present"

say "NVIDIA Vulkan ICD"
icd=''
for f in "${VK_ICD_FILENAMES:-}" /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json \
  /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json /etc/vulkan/icd.d/nvidia_icd.x86_64.json; do
  if [ -n "$f" ] && [ -f "$f" ] && grep -qi nvidia "$f"; then icd="$f"; break; fi
done
if [ -z "$icd" ]; then
  if ldconfig -p 2>/dev/null | grep -q 'libGLX_nvidia\.so\.0'; then
    # the driver library is there but the JSON is not (common in containers): write one
    icd="$(mktemp -d)/nvidia_icd.json"
    printf '{"file_format_version":"1.0.0","ICD":{"library_path":"libGLX_nvidia.so.0","api_version":"1.3.0"}}\n' >"$icd"
    echo "wrote $icd"
  else
    die "no NVIDIA Vulkan ICD and no libGLX_nvidia.so.0 (install nvidia-vulkan-icd, or NVIDIA_DRIVER_CAPABILITIES=all)"
  fi
fi
export VK_ICD_FILENAMES="$icd"
echo "VK_ICD_FILENAMES=$VK_ICD_FILENAMES"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
if command -v vulkaninfo >/dev/null 2>&1; then vulkaninfo --summary 2>/dev/null | sed -n '/Devices:/,$p' || true; fi

say "workspace"
command -v node >/dev/null 2>&1 || die "node is not installed"
if [ ! -d node_modules ] || [ ! -d packages/backend-gpu/node_modules/webgpu ]; then
  pnpm install --frozen-lockfile || die "pnpm install failed (offline machine? carry node_modules from a set-up checkout)"
fi

say "adapter"
(cd packages/backend-gpu && node --input-type=module -e "
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const ad = await create([]).requestAdapter();
  if (!ad) { console.error('no WebGPU adapter'); process.exit(2); }
  const i = ad.info;
  console.log(JSON.stringify({ vendor: i.vendor, description: i.description, architecture: i.architecture,
    isFallbackAdapter: i.isFallbackAdapter, maxStorageBufferBindingSize: ad.limits.maxStorageBufferBindingSize }));
  if (i.isFallbackAdapter) { console.error('only a software adapter: the NVIDIA ICD did not load'); process.exit(3); }
") || die "Dawn found no hardware adapter with VK_ICD_FILENAMES=$VK_ICD_FILENAMES"

say "backend-gpu tests on the hardware adapter"
# CI=true: a missing adapter fails the suite instead of skipping it
(cd packages/backend-gpu && CI=true npx vitest run)

if [ "$run_bench" -eq 1 ]; then
  say "bench (gpu.js:webgpu on the GPU vs the CPU backend)"
  (cd packages/tensor && pnpm run build >/dev/null)
  (cd packages/backend-gpu && pnpm run build >/dev/null && node dist/bench.js)
fi
say "gpu-check passed"
