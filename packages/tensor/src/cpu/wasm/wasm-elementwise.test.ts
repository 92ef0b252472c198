import { describe, expect, it } from 'vitest';
import type { UnaryOp } from '../../backend.js';
import { unaryRef } from '../../testing/reference.js';
import { CpuBackend } from '../cpu-backend.js';
import { unaryKernel } from '../kernels/elementwise.js';
import { createWasmElementwise } from './wasm-elementwise.js';
import { wasmSimdSupported } from './wasm-module.js';

const OPS: UnaryOp[] = ['exp', 'sigmoid', 'silu', 'siluGrad', 'gelu', 'geluGrad'];
const U = 2 ** -24;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** the conformance suite's measure: |err| / (2^-24 (|ref| + 1)(1 + |x|)) against the float64 definition */
function worstRatio(op: UnaryOp, x: Float32Array, y: Float32Array): { ratio: number; at: number } {
  let ratio = 0;
  let at = Number.NaN;
  for (let i = 0; i < x.length; i++) {
    const r = unaryRef(op, x[i]!);
    const e = Math.abs(y[i]! - r) / (U * (Math.abs(r) + 1) * (1 + Math.abs(x[i]!)));
    if (e > ratio) {
      ratio = e;
      at = x[i]!;
    }
  }
  return { ratio, at };
}

describe.runIf(wasmSimdSupported())('wasm SIMD elementwise kernels', () => {
  const ew = createWasmElementwise()!;

  it('is created where WASM SIMD exists and covers the transcendental activations only', () => {
    expect(ew).not.toBeNull();
    for (const op of OPS) expect(ew.supports(op)).toBe(true);
    for (const op of ['neg', 'log', 'tanh', 'relu', 'square'] as UnaryOp[]) expect(ew.supports(op)).toBe(false);
  });

  for (const op of OPS) {
    it(`${op}: within a few ulp of the float64 definition on [-30, 30], far below the conformance bound (16)`, () => {
      const rand = rng(op.length * 7919);
      const n = 20_011;
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) x[i] = (rand() * 2 - 1) * (i % 3 === 0 ? 30 : 6);
      x.set([0, -0, 1e-3, -1e-3, 1e-30, -1e-30, 0.5, -0.5, 2, -2]);
      const y = new Float32Array(n);
      ew.unary(op, x, y, n);
      const { ratio, at } = worstRatio(op, x, y);
      expect(ratio, `worst at x = ${at}`).toBeLessThan(4);
    });
  }

  it('matches the TS kernels (the oracle) at the edges: 0, +-Inf, NaN, overflow and underflow', () => {
    const x = Float32Array.from([
      0,
      -0,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.NaN,
      88,
      88.7,
      89,
      100,
      -87,
      -100,
      -200,
      1e20,
      -1e20,
      3e38,
      -3e38,
    ]);
    for (const op of OPS) {
      const got = new Float32Array(x.length);
      const want = new Float32Array(x.length);
      ew.unary(op, x, got, x.length);
      unaryKernel(op, x, want, x.length);
      for (let i = 0; i < x.length; i++) {
        const label = `${op}(${x[i]}): wasm ${got[i]}, ts ${want[i]}`;
        const w = want[i]!;
        if (Number.isNaN(w)) {
          // the TS geluGrad is NaN at +-Inf (Inf * 0); the wasm one clamps first and gives the limit (1 or 0)
          if (op === 'geluGrad' && !Number.isNaN(x[i]!)) expect(Math.abs(got[i]!), label).toBe(x[i]! > 0 ? 1 : 0);
          else expect(Number.isNaN(got[i]!), label).toBe(true);
        } else if (!Number.isFinite(w)) {
          expect(got[i], label).toBe(w);
        } else if (Math.abs(w) < 1e-37) {
          // results below the smallest normal float: the wasm exp flushes x < -104 to 0, JS rounds to a denormal
          expect(Math.abs(got[i]!), label).toBeLessThan(1e-37);
        } else {
          expect(Math.abs(got[i]! - w), label).toBeLessThanOrEqual(4 * 2 ** -23 * Math.abs(w));
        }
      }
    }
    // exact where it matters
    const one = new Float32Array(4);
    ew.unary('exp', new Float32Array(4), one, 4);
    expect(Array.from(one)).toEqual([1, 1, 1, 1]);
  });

  it('handles every length (the 4-lane tail, the 4096-float chunks) and works in place', () => {
    const rand = rng(5);
    for (const n of [0, 1, 2, 3, 4, 5, 7, 63, 4095, 4096, 4097, 8193, 12_289]) {
      const x = new Float32Array(n + 8).fill(Number.NaN);
      for (let i = 0; i < n; i++) x[i] = rand() * 8 - 4;
      const out = new Float32Array(n + 8).fill(777);
      ew.unary('silu', x, out, n);
      const want = new Float32Array(n);
      unaryKernel('silu', x, want, n);
      for (let i = 0; i < n; i++) expect(Math.abs(out[i]! - want[i]!)).toBeLessThan(4e-7 * (1 + Math.abs(want[i]!)));
      // nothing written past n
      for (let i = n; i < n + 8; i++) expect(out[i]).toBe(777);
      const inPlace = x.slice();
      ew.unary('silu', inPlace, inPlace, n);
      expect(Array.from(inPlace.subarray(0, n))).toEqual(Array.from(out.subarray(0, n)));
    }
  });

  it('the CPU backend uses it for float32 by default, never in float64 mode, and not when turned off', () => {
    expect(new CpuBackend().elementwise?.name).toBe('wasm-simd');
    expect(new CpuBackend({ simdElementwise: false }).elementwise).toBeNull();
    const n = 1000;
    const x = Float32Array.from({ length: n }, (_, i) => (i - 500) / 50);
    const f64 = new CpuBackend({ precision: 'float64' });
    const y64 = f64.readValues(f64.unary('gelu', f64.upload(x), n));
    expect(y64).toBeInstanceOf(Float64Array);
    // float64 mode keeps the exact TS kernel: it agrees with the definition to double precision
    for (let i = 0; i < n; i++) expect(Math.abs(y64[i]! - unaryRef('gelu', x[i]!))).toBeLessThan(1e-14);
    const simd = new CpuBackend();
    const ts = new CpuBackend({ simdElementwise: false });
    for (const op of OPS) {
      const a = simd.downloadSync(simd.unary(op, simd.upload(x), n), n);
      const b = ts.downloadSync(ts.unary(op, ts.upload(x), n), n);
      for (let i = 0; i < n; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-6 * (1 + Math.abs(b[i]!)));
    }
  });
});
