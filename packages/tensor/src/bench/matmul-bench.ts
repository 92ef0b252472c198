// Matmul and elementwise throughput of the CPU backend: ts-reference vs wasm-simd GEMM, and add through CpuBackend.
// Run after building: node dist/bench/matmul-bench.js [--threads]
import { cpus, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import type { MatmulParams } from '../backend.js';
import { CpuBackend } from '../cpu/cpu-backend.js';
import { type GemmProvider, referenceGemm } from '../cpu/gemm.js';
import { createWasmGemm } from '../cpu/wasm/wasm-gemm.js';
import { relaxedSimdSupported } from '../cpu/wasm/wasm-module.js';
import { measurePeak, PEAK_FLOP_PER_ITERATION, peakLoop } from './simd-peak.js';

export interface Row {
  op: 'matmul' | 'add';
  /** M x K x N, batch x M x K x N, or the element count */
  shape: string;
  impl: string;
  medianMs: number;
  rate: number;
  unit: 'GFLOP/s' | 'GB/s';
  samples: number;
}

export interface BenchOptions {
  /** timed samples per implementation and shape (default 7); the median is reported */
  runs?: number;
  /** matmul shapes as [M, K, N] */
  shapes?: [number, number, number][];
  /** also time the 2-thread wasm provider (adaptive; numbers depend on what else holds the other core) */
  threads?: boolean;
}

const SHAPES: [number, number, number][] = [
  [768, 128, 512],
  [768, 512, 128],
  [768, 128, 128],
  [128, 768, 512],
  [1024, 1024, 1024],
];

/** a sample repeats the call until it has run this long, so sub-millisecond shapes are timed reliably */
const MIN_SAMPLE_MS = 20;

function randomArray(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.random() * 2 - 1;
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** ms per call, averaged over enough calls to fill MIN_SAMPLE_MS */
function sample(fn: () => void): number {
  let calls = 0;
  const t0 = performance.now();
  let t = t0;
  do {
    fn();
    calls++;
    t = performance.now();
  } while (t - t0 < MIN_SAMPLE_MS);
  return (t - t0) / calls;
}

interface Case {
  impl: string;
  fn: () => void;
}

/** warm-up (wasm starts on the baseline tier), then `runs` samples per case, in rotating order */
async function interleaved(cases: Case[], runs: number): Promise<number[][]> {
  for (const c of cases) for (let i = 0; i < 3; i++) sample(c.fn);
  const times: number[][] = cases.map(() => []);
  for (let r = 0; r < runs; r++) {
    for (let j = 0; j < cases.length; j++) {
      const k = (j + r) % cases.length;
      times[k]!.push(sample(cases[k]!.fn));
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return times;
}

/** the register-resident peak loop as a case: its rate is flops/ms like a GEMM's */
function peakCase(relaxed: boolean, flop: number): Case | null {
  const loop = peakLoop(relaxed);
  if (!loop) return null;
  const iterations = Math.max(1, Math.round(flop / PEAK_FLOP_PER_ITERATION));
  return { impl: `simd peak ${relaxed ? 'relaxed' : 'plain'}`, fn: () => loop(iterations) };
}

/** the product on arena tensors through the backend (what training runs: no copies), on 1 thread */
function arenaCase(simd: 'relaxed' | 'plain', M: number, K: number, N: number): Case | null {
  const be = new CpuBackend({ threads: 1, gemmSimd: simd });
  if (!be.arena || be.gemmSimd !== simd) return null;
  const c = backendMatmulCase(be, {
    batch: 1,
    M,
    K,
    N,
    transA: false,
    transB: false,
    aBatchStride: 0,
    bBatchStride: 0,
  });
  return { impl: `arena ${simd}`, fn: c.fn };
}

function gemmCase(g: GemmProvider, M: number, K: number, N: number): Case {
  const A = randomArray(M * K);
  const B = randomArray(K * N);
  const C = new Float32Array(M * N);
  return { impl: g.name, fn: () => g.gemm(A, 0, B, 0, C, 0, M, K, N, false, false) };
}

function backendMatmulCase(be: CpuBackend, p: MatmulParams): Case {
  const a = be.upload(randomArray(p.batch * p.M * p.K));
  const b = be.upload(randomArray(p.batch * p.K * p.N));
  return { impl: be.gemmProvider.name, fn: () => be.dispose(be.matmul(a, b, p)) };
}

export async function benchMatmul(opts: BenchOptions = {}): Promise<Row[]> {
  const runs = opts.runs ?? 7;
  const rows: Row[] = [];
  const wasm = createWasmGemm();
  // the plain-SIMD micro-kernel beside the default (relaxed where the engine has it), in the same rounds
  const plain = wasm?.simd === 'relaxed' ? createWasmGemm({ simd: 'plain' }) : null;
  const wasm2 = opts.threads ? createWasmGemm({ threads: 2 }) : null;
  const providers: GemmProvider[] = [referenceGemm, ...[wasm, plain, wasm2].filter((g) => g !== null)];
  // the worker instantiates asynchronously
  for (let i = 0; i < 200 && wasm2 && !wasm2.threadStats().workerReady; i++)
    await new Promise((r) => setTimeout(r, 10));

  for (const [M, K, N] of opts.shapes ?? SHAPES) {
    // the peak loops run as many flops as the product, in the same rounds, so each GEMM figure has a paired ceiling
    const extra = [
      arenaCase('relaxed', M, K, N),
      arenaCase('plain', M, K, N),
      peakCase(true, 2 * M * K * N),
      peakCase(false, 2 * M * K * N),
    ].filter((c) => c !== null);
    const cases = [...providers.map((g) => gemmCase(g, M, K, N)), ...extra];
    const times = await interleaved(cases, runs);
    cases.forEach((c, i) => {
      const ms = median(times[i]!);
      rows.push({
        op: 'matmul',
        shape: `${M}x${K}x${N}`,
        impl: c.impl,
        medianMs: ms,
        rate: (2 * M * K * N) / ms / 1e6,
        unit: 'GFLOP/s',
        samples: runs,
      });
    });
  }

  // attention scores through the backend: 48 products of 64x32x64 in one batched call (Q K^T)
  const attn: MatmulParams = {
    batch: 48,
    M: 64,
    K: 32,
    N: 64,
    transA: false,
    transB: true,
    aBatchStride: 2048,
    bBatchStride: 2048,
  };
  const backends = providers.map((gemm) => new CpuBackend({ gemm }));
  const attnCases = backends.map((be) => backendMatmulCase(be, attn));
  const attnTimes = await interleaved(attnCases, runs);
  attnCases.forEach((c, i) => {
    const ms = median(attnTimes[i]!);
    const flop = 2 * attn.batch * attn.M * attn.K * attn.N;
    rows.push({
      op: 'matmul',
      shape: `48x64x32x64 (batched, B^T)`,
      impl: c.impl,
      medianMs: ms,
      rate: flop / ms / 1e6,
      unit: 'GFLOP/s',
      samples: runs,
    });
  });

  // elementwise add: 2 reads + 1 write of float32 per element
  const be = new CpuBackend();
  for (const n of [768 * 512, 4 * 1024 * 1024]) {
    const shape = [n];
    const x = be.upload(randomArray(n));
    const y = be.upload(randomArray(n));
    const [times] = await interleaved(
      [{ impl: 'cpu add', fn: () => be.dispose(be.binary('add', x, shape, y, shape, shape)) }],
      runs,
    );
    const ms = median(times!);
    rows.push({
      op: 'add',
      shape: `${n}`,
      impl: 'CpuBackend.binary',
      medianMs: ms,
      rate: (12 * n) / ms / 1e6,
      unit: 'GB/s',
      samples: runs,
    });
  }
  wasm2?.dispose();
  return rows;
}

/** the per-core peaks: each GEMM row is compared with the peak of its own arithmetic */
interface Peaks {
  plain: number | null;
  relaxed: number | null;
}

function printRows(rows: Row[], peaks: Peaks): void {
  // a shape's peak sampled in its own rounds, where there is one; else the start-up measurement
  const paired = new Map(
    rows.filter((r) => r.impl.startsWith('simd peak')).map((r) => [`${r.shape} ${r.impl}`, r.rate]),
  );
  const ref = new Map(rows.filter((r) => r.impl === referenceGemm.name).map((r) => [r.shape, r.rate]));
  console.log(
    'op      shape                           impl                       median ms       rate            vs ts-reference  of SIMD peak',
  );
  for (const r of rows) {
    const base = ref.get(r.shape);
    const ratio = r.op === 'matmul' && base && !r.impl.startsWith('simd peak') ? `${(r.rate / base).toFixed(1)}x` : '';
    // the 2-thread provider's rate is for two cores: compare it with twice the per-core peak
    const cores = r.impl.endsWith(' x2') ? 2 : 1;
    const kind = r.impl.includes('relaxed') ? 'relaxed' : 'plain';
    const peak = paired.get(`${r.shape} simd peak ${kind}`) ?? peaks[kind];
    const ofPeak =
      r.op === 'matmul' && peak && !r.impl.startsWith('simd peak')
        ? `${((100 * r.rate) / (peak * cores)).toFixed(0)}%`
        : '';
    console.log(
      `${r.op.padEnd(8)}${r.shape.padEnd(32)}${r.impl.padEnd(27)}${r.medianMs.toFixed(3).padStart(9)} ${r.rate.toFixed(2).padStart(8)} ${r.unit.padEnd(8)} ${ratio.padStart(15)} ${ofPeak.padStart(13)}`,
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(
    `node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}, load ${loadavg()[0]!.toFixed(2)}`,
  );
  // relaxed SIMD is on by default from Node 22; on Node 20 this sets V8's flag for it (before any compile)
  relaxedSimdSupported();
  const plain = measurePeak(false);
  const relaxed = measurePeak(true);
  console.log(
    `wasm SIMD peak, 1 core (register-resident loop, src/bench/simd-peak.ts): mul + add ${plain?.toFixed(1) ?? 'n/a'} GFLOP/s; ` +
      `relaxed_madd ${relaxed === null ? 'not supported' : `${relaxed.toFixed(1)} GFLOP/s`}`,
  );
  printRows(await benchMatmul({ threads: process.argv.includes('--threads') }), { plain, relaxed });
  console.log(`load after: ${loadavg()[0]!.toFixed(2)}`);
}
