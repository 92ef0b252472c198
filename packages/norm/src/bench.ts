// RMSNorm vs LayerNorm, forward + backward, fused kernels and composites, on the CPU backend (or any backend passed
// in). Interleaved runs, medians. Run after building: node dist/bench.js
import { pathToFileURL } from 'node:url';
import { backward } from '@tinyformer/autograd';
import { type Backend, CpuBackend, randn, type Tensor, tidy } from '@tinyformer/tensor';
import { layerNormComposite, rmsNormComposite } from './composite.js';
import { layerNorm, rmsNorm } from './ops.js';

/** One benchmark result: a backend, a shape and a variant, both norms' forward + backward times. */
export interface NormBenchRow {
  /** the backend's name */
  backend: string;
  /** rows (tokens) */
  rows: number;
  /** features per row */
  dim: number;
  /** fused ops or compositions of primitives */
  variant: 'fused' | 'composite';
  /** RMSNorm forward + backward, median ms */
  rmsMs: number;
  /** LayerNorm forward + backward, median ms */
  layerMs: number;
  /** LayerNorm time / RMSNorm time: > 1 means RMSNorm is faster */
  speedup: number;
}

type NormFn = (x: Tensor, g: Tensor, b: Tensor) => Tensor;

const VARIANTS: Record<'fused' | 'composite', { rms: NormFn; ln: NormFn }> = {
  fused: { rms: (x, g) => rmsNorm(x, g, 1e-5), ln: (x, g, b) => layerNorm(x, g, b, 1e-5) },
  composite: { rms: (x, g) => rmsNormComposite(x, g, 1e-5), ln: (x, g, b) => layerNormComposite(x, g, b, 1e-5) },
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Time of one forward + backward (gradients for x, g and b), averaged over enough calls to last >= 20 ms. */
async function timeOnce(backend: Backend, f: NormFn, x: Tensor, g: Tensor, b: Tensor, dy: Tensor): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < 20 || n < 2) {
    const probe = tidy(() => {
      const y = f(x, g, b);
      backward(y, dy);
      return x.grad!;
    });
    // a device backend only finishes when read back
    if (!backend.synchronous) await probe.data();
    for (const p of [x, g, b]) {
      p.grad?.dispose();
      p.grad = null;
    }
    n++;
    t = performance.now();
  }
  return (t - t0) / n;
}

/**
 * Times RMSNorm and LayerNorm forward + backward, interleaved, median of `runs`.
 *
 * @param opts - The backend (default a new CpuBackend), the [rows, dim] shapes, runs per case (default 7), the
 *   variants (default both).
 * @returns One row per shape and variant.
 */
export async function benchNorms(
  opts: { backend?: Backend; shapes?: [number, number][]; runs?: number; variants?: ('fused' | 'composite')[] } = {},
): Promise<NormBenchRow[]> {
  const backend = opts.backend ?? new CpuBackend();
  const shapes = opts.shapes ?? [
    [768, 128],
    [8192, 768],
    [16384, 1024],
  ];
  const runs = opts.runs ?? 7;
  const rows: NormBenchRow[] = [];
  for (const [R, D] of shapes) {
    const x = randn([R, D], { seed: 1, backend }).keep();
    const g = randn([D], { seed: 2, backend, mean: 1, std: 0.1 }).keep();
    const b = randn([D], { seed: 3, backend, std: 0.1 }).keep();
    const dy = randn([R, D], { seed: 4, backend }).keep();
    for (const t of [x, g, b]) t.requiresGrad = true;
    for (const variant of opts.variants ?? (['fused', 'composite'] as const)) {
      const { rms, ln } = VARIANTS[variant];
      const rmsT: number[] = [];
      const lnT: number[] = [];
      await timeOnce(backend, rms, x, g, b, dy); // warm-up
      await timeOnce(backend, ln, x, g, b, dy);
      for (let i = 0; i < runs; i++) {
        // alternate the order so drift in machine load hits both equally
        if (i % 2 === 0) {
          rmsT.push(await timeOnce(backend, rms, x, g, b, dy));
          lnT.push(await timeOnce(backend, ln, x, g, b, dy));
        } else {
          lnT.push(await timeOnce(backend, ln, x, g, b, dy));
          rmsT.push(await timeOnce(backend, rms, x, g, b, dy));
        }
      }
      const rmsMs = median(rmsT);
      const layerMs = median(lnT);
      rows.push({ backend: backend.name, rows: R, dim: D, variant, rmsMs, layerMs, speedup: layerMs / rmsMs });
    }
    for (const t of [x, g, b, dy]) t.dispose();
  }
  return rows;
}

/**
 * @param rows - Benchmark results.
 * @returns A Markdown table.
 */
export function formatNormRows(rows: readonly NormBenchRow[]): string {
  const out = ['backend | shape (tokens x dim) | variant | RMSNorm fwd+bwd ms | LayerNorm fwd+bwd ms | LN/RMS'];
  for (const r of rows) {
    out.push(
      `${r.backend} | ${r.rows}x${r.dim} | ${r.variant} | ${r.rmsMs.toFixed(3)} | ${r.layerMs.toFixed(3)} | ${r.speedup.toFixed(2)}x`,
    );
  }
  return out.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log('norm bench: fused and composite RMSNorm vs LayerNorm, forward+backward, median of 7 interleaved runs');
  console.log(formatNormRows(await benchNorms()));
}
