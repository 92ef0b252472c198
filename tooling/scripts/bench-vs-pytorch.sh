#!/usr/bin/env bash
# Training throughput of tinyformer's CPU backend against PyTorch, interleaved round by round on one machine, for
# issue-grade ratios (README "Benchmarks"). Never part of the tests.
#
#   tooling/scripts/bench-vs-pytorch.sh <peer bench folder with torch_charlm.py> [rounds] [baby|small|both]
#   NODE=/path/to/node24 tooling/scripts/bench-vs-pytorch.sh ...     # tinyformer on another Node
#
# Each round runs `charlm bench --recipe nanogpt` (LayerNorm, GELU MLP, learned positions: the peer's model) with
# the variants relaxed/plain SIMD on 2 and 1 GEMM threads, then the PyTorch peer on 2 and 1 threads with
# OpenBLAS forced onto its best kernel for this CPU (SkylakeX with AVX-512, else Haswell; Debian's OpenBLAS
# mis-detects newer CPUs). JSON lines go to runs/bench/<date>.jsonl; the printed lines are each run's summary.
set -euo pipefail
peer=${1:?usage: bench-vs-pytorch.sh <peer bench folder> [rounds] [baby|small|both]}
rounds=${2:-3}
which=${3:-both}
root=$(cd "$(dirname "$0")/../.." && pwd)
node=${NODE:-node}
out="$root/runs/bench/$(date -u +%Y%m%dT%H%M%S).jsonl"
mkdir -p "$(dirname "$out")"
if grep -qw avx512f /proc/cpuinfo; then core=SkylakeX; else core=Haswell; fi
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-) ($(nproc) cores), OPENBLAS_CORETYPE=$core, node $("$node" -v); out $out"
presets=(baby small)
[ "$which" = both ] || presets=("$which")
for ((r = 1; r <= rounds; r++)); do
  for preset in "${presets[@]}"; do
    if [ "$preset" = small ]; then
      steps=(--steps 6 --warmup 2)
      torch=(--n-layer 6 --n-head 6 --n-embd 384 --block-size 256 --batch-size 8 --warmup-steps 2 --measure-iters 6)
    else
      steps=(--steps 30 --warmup 8)
      torch=(--warmup-steps 10 --measure-iters 40)
    fi
    echo "== round $r, $preset"
    "$node" "$root/apps/charlm/dist/bench.js" --preset "$preset" --recipe nanogpt "${steps[@]}" \
      --compare threads2,plain-simd,threads1,plain-simd1 --json "$out" | grep -E 'tok/s|^peak'
    for t in 2 1; do
      OPENBLAS_CORETYPE=$core /usr/bin/python3 "$peer/torch_charlm.py" --mode throughput --norm layernorm \
        --threads "$t" "${torch[@]}" --out "$out" | tail -1 |
        /usr/bin/python3 -c 'import json, sys; j = json.loads(sys.stdin.read()); print("pytorch   %d thread(s)  %.0f tok/s  median %.1f ms/step  (OpenBLAS corename %s)" % (j["threads"], j["tokens_per_s"], j["step_ms_median"], j["blas"]["corename"]))'
    done
  done
done
