import type { FloatArray } from '@tinyformer/tensor';
import type { HeadsParams, RopeParams } from '../params.js';

/**
 * Attention's data movement in one pass each: the packed QKV projection [B, T, P*H*hd] to P head-major tensors
 * [B, H, T, hd] and back. These replace reshape + permute + split (and, backwards, P zero pads, P - 1 adds and a
 * permute) of the composite path.
 */
export function splitHeadsKernel(x: FloatArray, outs: readonly FloatArray[], p: HeadsParams): void {
  const { batch: B, seq: T, heads: H, headDim: hd, parts: P } = p;
  const C = H * hd;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      let src = (b * T + t) * P * C;
      for (let q = 0; q < P; q++) {
        const o = outs[q]!;
        for (let h = 0; h < H; h++) {
          const dst = ((b * H + h) * T + t) * hd;
          for (let d = 0; d < hd; d++) o[dst + d] = x[src + d]!;
          src += hd;
        }
      }
    }
  }
}

export function mergeHeadsKernel(xs: readonly FloatArray[], out: FloatArray, p: HeadsParams): void {
  const { batch: B, seq: T, heads: H, headDim: hd, parts: P } = p;
  const C = H * hd;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      let dst = (b * T + t) * P * C;
      for (let q = 0; q < P; q++) {
        const x = xs[q]!;
        for (let h = 0; h < H; h++) {
          const src = ((b * H + h) * T + t) * hd;
          for (let d = 0; d < hd; d++) out[dst + d] = x[src + d]!;
          dst += hd;
        }
      }
    }
  }
}

interface RopeTable {
  /** positions covered: [0, len) */
  len: number;
  /** [len, headDim/2] */
  cos: Float64Array;
  sin: Float64Array;
}

const ropeTables = new Map<string, RopeTable>();

/**
 * cos/sin of pos * base^(-2i/hd) for every position below `end`, in float64, cached per (base, hd) and grown by
 * doubling. The angle is computed exactly as the composite path (attention's applyRope) computes it.
 */
export function ropeTable(base: number, hd: number, end: number): RopeTable {
  const key = `${base},${hd}`;
  let t = ropeTables.get(key);
  if (t && t.len >= end) return t;
  const half = hd / 2;
  let len = Math.max(64, t ? t.len * 2 : 0);
  while (len < end) len *= 2;
  const cos = new Float64Array(len * half);
  const sin = new Float64Array(len * half);
  for (let pos = 0; pos < len; pos++) {
    for (let i = 0; i < half; i++) {
      const angle = pos * base ** ((-2 * i) / hd);
      cos[pos * half + i] = Math.cos(angle);
      sin[pos * half + i] = Math.sin(angle);
    }
  }
  t = { len, cos, sin };
  // a few (base, hd) pairs per process; bound the cache anyway
  if (ropeTables.size >= 16) ropeTables.clear();
  ropeTables.set(key, t);
  return t;
}

export function ropeKernel(x: FloatArray, out: FloatArray, p: RopeParams): void {
  const { rows, seq: T, headDim: hd, startPos, base, inverse } = p;
  const scale = p.scale ?? 1;
  const half = hd / 2;
  const { cos, sin } = ropeTable(base, hd, startPos + T);
  const sgn = inverse ? -scale : scale;
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < T; t++) {
      const row = (r * T + t) * hd;
      const tab = (startPos + t) * half;
      for (let i = 0; i < half; i++) {
        const c = cos[tab + i]! * scale;
        const s = sin[tab + i]! * sgn;
        const x1 = x[row + i]!;
        const x2 = x[row + half + i]!;
        out[row + i] = x1 * c - x2 * s;
        out[row + half + i] = x1 * s + x2 * c;
      }
    }
  }
}
