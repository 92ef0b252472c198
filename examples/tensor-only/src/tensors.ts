import {
  CpuBackend,
  defaultThreads,
  getBackend,
  matmul,
  randn,
  softmax,
  type Tensor,
  tensor,
  tidy,
  wasmSimdSupported,
} from '@tinyformer/tensor';

/** What the CPU backend runs on here: the GEMM it picked, SIMD, the arena and its threads. */
export interface CpuReport {
  backend: string;
  gemm: string;
  wasmSimd: boolean;
  simdElementwise: boolean;
  arena: boolean;
  /** GEMM threads: the arena's (1, or 2 with a worker), else 1 */
  threads: number;
  /** what a new CpuBackend would use (TINYFORMER_CPU_THREADS or the core count) */
  defaultThreads: 1 | 2;
}

export function cpuReport(): CpuReport {
  const be = getBackend();
  if (!(be instanceof CpuBackend)) throw new Error(`expected the CPU backend, got ${be.name}`);
  return {
    backend: be.name,
    gemm: be.gemmProvider.name,
    wasmSimd: wasmSimdSupported(),
    simdElementwise: be.elementwise !== null,
    arena: be.arena !== null,
    threads: be.arena?.gemm.threads ?? 1,
    defaultThreads: defaultThreads(),
  };
}

/**
 * One attention head by hand: softmax(q k^T / sqrt(d)) v, causal. Every intermediate is released by tidy(); only
 * the returned tensor outlives it.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor): Tensor {
  return tidy(() => {
    const d = q.shape[q.rank - 1] ?? 1;
    const scores = matmul(q, k, { transB: true }).mul(1 / Math.sqrt(d));
    return matmul(softmax(scores, { causal: true }), v);
  });
}

/** A small worked run: a 2x2 product, one softmax row, and a random [8, 16] head. */
export function demo() {
  const product = matmul(
    tensor([
      [1, 2],
      [3, 4],
    ]),
    tensor([
      [5, 6],
      [7, 8],
    ]),
  );
  const probs = softmax(tensor([1, 2, 3]));
  const [q, k, v] = [1, 2, 3].map((seed) => randn([8, 16], { seed })) as [Tensor, Tensor, Tensor];
  const before = getBackend().memory().buffers;
  const out = attention(q, k, v);
  const after = getBackend().memory().buffers;
  const result = {
    product: product.arraySync(),
    probs: [...probs.dataSync()],
    attentionShape: [...out.shape],
    /** buffers alive after attention() minus before: only its output */
    leaked: after - before,
  };
  for (const t of [product, probs, q, k, v, out]) t.dispose();
  return result;
}
