// The machine's wasm SIMD ceiling per core: a hand-assembled loop whose 12 f32x4 accumulators stay in registers,
// each updated by acc = acc * m + c every iteration (a multiply and an add, or one relaxed_madd). No memory is
// touched, so the rate is what the SIMD units can do for this engine; the GEMM bench prints its figures against it.

import { wasmApi } from '../cpu/wasm/wasm-module.js';

const ACCUMULATORS = 12;

/** Unsigned LEB128. */
function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

const section = (id: number, bytes: number[]) => [id, ...leb(bytes.length), ...bytes];

/**
 * A module exporting `peak(iterations: i32) -> f32`. With `relaxed`, each update is one f32x4.relaxed_madd
 * (opcode 0xfd 261); otherwise f32x4.mul (230) then f32x4.add (228).
 */
export function peakModuleBytes(relaxed: boolean): Uint8Array {
  const N = 0;
  const M = 1;
  const C = 2;
  const ACC = 3;
  const v128 = (f: number) => [0xfd, 0x0c, ...new Uint8Array(new Float32Array([f, f, f, f]).buffer)];
  const body: number[] = [1, ...leb(2 + ACCUMULATORS), 0x7b]; // locals: m, c and the accumulators, all v128
  body.push(...v128(0.999), 0x21, M, ...v128(0.001), 0x21, C);
  for (let i = 0; i < ACCUMULATORS; i++) body.push(...v128(1 + i / 100), 0x21, ACC + i);
  body.push(0x03, 0x40); // loop
  for (let i = 0; i < ACCUMULATORS; i++) {
    if (relaxed) body.push(0x20, ACC + i, 0x20, M, 0x20, C, 0xfd, ...leb(261));
    else body.push(0x20, ACC + i, 0x20, M, 0xfd, ...leb(230), 0x20, C, 0xfd, ...leb(228));
    body.push(0x21, ACC + i);
  }
  body.push(0x20, N, 0x41, 1, 0x6b, 0x22, N, 0x0d, 0, 0x0b); // n -= 1; br_if loop; end
  // return the sum of lane 0 of every accumulator, so the loop cannot be dropped
  body.push(0x20, ACC, 0xfd, 0x1f, 0);
  for (let i = 1; i < ACCUMULATORS; i++) body.push(0x20, ACC + i, 0xfd, 0x1f, 0, 0x92);
  body.push(0x0b);
  const name = [...new TextEncoder().encode('peak')];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, 1, 0x7f, 1, 0x7d]), // type: (i32) -> f32
    ...section(3, [1, 0]),
    ...section(7, [1, name.length, ...name, 0, 0]),
    ...section(10, [1, ...leb(body.length), ...body]),
  ]);
}

/** flops of one iteration of the loop: 12 accumulators x 4 lanes x a multiply and an add */
export const PEAK_FLOP_PER_ITERATION = ACCUMULATORS * 4 * 2;

/**
 * The loop as a function of its iteration count (compiled and tiered up), or null where the form does not validate:
 * for benchmarks that sample the peak in the same rounds as the GEMM, so both see the same machine.
 */
export function peakLoop(relaxed: boolean): ((iterations: number) => number) | null {
  const api = wasmApi;
  const bytes = peakModuleBytes(relaxed);
  if (!api?.validate(bytes)) return null;
  const exports = new api.Instance(new api.Module(bytes), {}).exports as { peak: (n: number) => number };
  exports.peak(10_000); // tier up
  return exports.peak;
}

/** The best of `rounds` timings of the loop, in GFLOP/s (a multiply-add is 2 flops per lane), or null if invalid here. */
export function measurePeak(relaxed: boolean, rounds = 5, iterations = 4_000_000): number | null {
  const peak = peakLoop(relaxed);
  if (!peak) return null;
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    peak(iterations);
    const s = (performance.now() - t0) / 1000;
    best = Math.max(best, (iterations * PEAK_FLOP_PER_ITERATION) / s / 1e9);
  }
  return best;
}
