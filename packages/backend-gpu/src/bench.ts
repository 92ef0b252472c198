// Per-op timings of the gpu.js WebGPU backend against the CPU backend in the same run: the matmul shapes of a
// small transformer's linear layers (forward and both backward products) and the fused kernels.
// Build first, then: node dist/bench.js [--runs N] [--json]
// On lavapipe (software Vulkan on the CPU) the GPU numbers measure overhead and correctness, not GPU speed.
import { pathToFileURL } from 'node:url';
import { layernormBackwardOp, layernormOp, rmsnormBackwardOp, rmsnormOp } from '@tinyformer/norm';
import { type Backend, CpuBackend, kernelCalls, type Storage, storageKernel } from '@tinyformer/tensor';
import { createGpuBackend, type GpuBackend } from './gpu-backend.js';
import './op-kernels.js';

export interface BenchRow {
  op: string;
  shape: string;
  backend: string;
  ms: number;
  /** for matmuls */
  gflops?: number;
}

interface Case {
  op: string;
  shape: string;
  flops?: number;
  /** sizes of the random inputs to upload */
  inputs: number[];
  run(b: Backend, xs: Storage[]): Storage[];
}

function matmulCase(M: number, K: number, N: number, transA: boolean, transB: boolean, label: string): Case {
  return {
    op: `matmul ${label}`,
    shape: `${M}x${K}x${N}`,
    flops: 2 * M * K * N,
    inputs: [M * K, K * N],
    run: (b, [x, w]) => [b.matmul(x!, w!, { batch: 1, M, K, N, transA, transB, aBatchStride: 0, bBatchStride: 0 })],
  };
}

const B = 3;
const T = 256;
const D = 128;
const H = 4;
const V = 512;
const ROWS = B * T;

export const CASES: Case[] = [
  matmulCase(768, 128, 512, false, false, 'NN x@W'),
  matmulCase(768, 512, 128, false, true, 'NT dY@W^T'),
  matmulCase(128, 768, 512, true, false, 'TN X^T@dY'),
  {
    op: 'softmax causal',
    shape: `${B * H}x${T}x${T}`,
    inputs: [B * H * T * T],
    run: (b, [x]) => [kernelCalls(b).softmax!(x!, { rows: B * H * T, cols: T, log: false, causalQueryLen: T })],
  },
  {
    op: 'softmaxBackward causal',
    shape: `${B * H}x${T}x${T}`,
    inputs: [B * H * T * T, B * H * T * T],
    run: (b, [y, dy]) => [
      kernelCalls(b).softmaxBackward!(y!, dy!, { rows: B * H * T, cols: T, log: false, causalQueryLen: T }),
    ],
  },
  {
    op: 'crossEntropy',
    shape: `${ROWS}x${V}`,
    inputs: [ROWS * V, -ROWS],
    run: (b, [l, t]) => [kernelCalls(b).crossEntropy!(l!, t!, ROWS, V)],
  },
  {
    op: 'crossEntropyBackward',
    shape: `${ROWS}x${V}`,
    inputs: [ROWS * V, -ROWS, ROWS],
    run: (b, [l, t, d]) => [kernelCalls(b).crossEntropyBackward!(l!, t!, d!, ROWS, V)],
  },
  {
    op: 'rmsnormForward',
    shape: `${ROWS}x${D}`,
    inputs: [ROWS * D, D],
    run: (b, [x, g]) => {
      return storageKernel(rmsnormOp, b)!(
        [
          [x!, [ROWS, D]],
          [g!, [D]],
        ],
        { eps: 1e-5, hasScale: true },
      );
    },
  },
  {
    op: 'rmsnormBackward',
    shape: `${ROWS}x${D}`,
    inputs: [ROWS * D, ROWS * D, D, ROWS],
    run: (b, [dy, x, g, r]) => {
      return storageKernel(rmsnormBackwardOp, b)!(
        [
          [dy!, [ROWS, D]],
          [x!, [ROWS, D]],
          [g!, [D]],
          [r!, [ROWS, 1]],
        ],
        { eps: 1e-5, hasScale: true },
      );
    },
  },
  {
    op: 'layernormForward',
    shape: `${ROWS}x${D}`,
    inputs: [ROWS * D, D, D],
    run: (b, [x, g, bb]) => {
      return storageKernel(layernormOp, b)!(
        [
          [x!, [ROWS, D]],
          [g!, [D]],
          [bb!, [D]],
        ],
        { eps: 1e-5, hasScale: true, hasShift: true },
      );
    },
  },
  {
    op: 'layernormBackward',
    shape: `${ROWS}x${D}`,
    inputs: [ROWS * D, ROWS * D, D, ROWS, ROWS],
    run: (b, [dy, x, g, m, r]) => {
      return storageKernel(layernormBackwardOp, b)!(
        [
          [dy!, [ROWS, D]],
          [x!, [ROWS, D]],
          [g!, [D]],
          [m!, [ROWS, 1]],
          [r!, [ROWS, 1]],
        ],
        { eps: 1e-5, hasScale: true, hasShift: true },
      );
    },
  },
  {
    op: 'gelu',
    shape: `${ROWS * V}`,
    inputs: [ROWS * V],
    run: (b, [x]) => [b.unary('gelu', x!, ROWS * V)],
  },
  {
    op: 'add (row broadcast)',
    shape: `${ROWS}x${V} + ${V}`,
    inputs: [ROWS * V, V],
    run: (b, [x, y]) => [b.binary('add', x!, [ROWS, V], y!, [V], [ROWS, V])],
  },
];

/** Seeded values in [-1, 1); a negative size means integer class ids in [0, V). */
function inputValues(size: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const n = Math.abs(size);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = size < 0 ? s % V : (s / 4294967296) * 2 - 1;
  }
  return out;
}

async function finish(b: Backend): Promise<void> {
  const sync = (b as Partial<GpuBackend>).sync;
  if (sync) await sync.call(b);
}

/** Mean ms per call over calls lasting >= minMs (at least 2), median of `runs` such measurements. */
async function timeCase(b: Backend, c: Case, runs: number, minMs: number): Promise<number> {
  // inputs from the fourth on are row statistics (mean, rstd) or loss weights: keep them positive
  const xs = c.inputs.map((n, i) => b.upload(inputValues(n, 7 + i).map((v) => (i >= 3 ? Math.abs(v) + 0.5 : v))));
  const once = () => {
    for (const s of c.run(b, xs)) b.dispose(s);
  };
  once(); // warm-up (first dispatch of a pipeline may compile lazily)
  await finish(b);
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    let n = 0;
    const t0 = performance.now();
    let t = t0;
    while (n < 2 || t - t0 < minMs) {
      once();
      n++;
      await finish(b);
      t = performance.now();
    }
    times.push((t - t0) / n);
  }
  for (const s of xs) b.dispose(s);
  times.sort((a, z) => a - z);
  return times[Math.floor(times.length / 2)]!;
}

export async function runBench(opts: { runs?: number; minMs?: number; backends: Backend[] }): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const c of CASES) {
    for (const b of opts.backends) {
      const ms = await timeCase(b, c, opts.runs ?? 5, opts.minMs ?? 100);
      const row: BenchRow = { op: c.op, shape: c.shape, backend: b.name, ms };
      if (c.flops) row.gflops = c.flops / (ms * 1e6);
      rows.push(row);
    }
  }
  return rows;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const runsAt = args.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 5;
  const json = args.includes('--json');
  const cpu = new CpuBackend();
  const backends: Backend[] = [cpu];
  let gpu: GpuBackend | null = null;
  try {
    gpu = await createGpuBackend({ allowSoftware: true });
    backends.unshift(gpu);
  } catch (e) {
    console.error(`backend-gpu bench: no WebGPU backend (${(e as Error).message}); timing the CPU only`);
  }
  try {
    const info = gpu ? `${gpu.adapterInfo.vendor} ${gpu.adapterInfo.description}` : 'none';
    if (!json) {
      console.log(`# gpu.js:webgpu adapter: ${info}; cpu gemm: ${cpu.gemmProvider.name}; median of ${runs} runs`);
      console.log(`# B=${B} T=${T} D=${D} H=${H} V=${V}`);
    }
    const rows = await runBench({ runs, backends });
    if (json) {
      console.log(JSON.stringify({ adapter: info, rows }, null, 2));
      return;
    }
    const header = ['op', 'shape', ...backends.map((b) => `${b.name} ms`), 'gpu/cpu', 'GFLOP/s (gpu, cpu)'];
    console.log(header.join(' | '));
    for (const c of CASES) {
      const mine = rows.filter((r) => r.op === c.op);
      const ms = mine.map((r) => r.ms.toFixed(2));
      const ratio = mine.length === 2 ? (mine[0]!.ms / mine[1]!.ms).toFixed(2) : '-';
      const gf = c.flops ? mine.map((r) => r.gflops!.toFixed(2)).join(', ') : '';
      console.log([c.op, c.shape, ...ms, ratio, gf].join(' | '));
    }
  } finally {
    await gpu?.destroy();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
