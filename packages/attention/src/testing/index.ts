/**
 * @tinyformer/attention/testing: the conformance section of attention's kernels (head split/merge, RoPE) against
 * float64 references, for any backend that registers them, and storage-level calls into those kernels. Needs vitest
 * (an optional peer dependency).
 */
import { type Backend, type Storage, type StorageInput, storageKernel } from '@tinyformer/tensor';
import {
  type ConformanceOptions,
  describeKernelSuite,
  expectClose,
  randomNormals,
  scaledBound,
} from '@tinyformer/tensor/testing';
import { expect, it } from 'vitest';
import { mergeHeadsOp, splitHeadsOp } from '../heads.js';
import type { HeadsParams, RopeParams } from '../params.js';
import { ropeOp } from '../rope.js';

/** Storage-level calls into a backend's attention kernels (undefined where it has none). */
export interface AttentionKernelCalls {
  /**
   * splitHeads on storage.
   *
   * @param x - The packed storage.
   * @param p - The layout.
   * @returns One storage per part.
   */
  splitHeads?(x: Storage, p: HeadsParams): Storage[];
  /**
   * mergeHeads on storage.
   *
   * @param xs - One storage per part.
   * @param p - The layout.
   * @returns The packed storage.
   */
  mergeHeads?(xs: readonly Storage[], p: HeadsParams): Storage;
  /**
   * RoPE on storage.
   *
   * @param x - The input storage.
   * @param p - Sizes, positions, direction, scale.
   * @returns The rotated storage.
   */
  rope?(x: Storage, p: RopeParams): Storage;
}

const headShape = (p: HeadsParams) => [p.batch, p.heads, p.seq, p.headDim];
const packedShape = (p: HeadsParams) => [p.batch, p.seq, p.parts * p.heads * p.headDim];

/**
 * The attention kernels a backend registered, callable on storages.
 *
 * @param b - The backend.
 * @returns Its calls; a kernel it does not register is undefined.
 */
export function attentionCalls(b: Backend): AttentionKernelCalls {
  const calls: AttentionKernelCalls = {};
  const sh = storageKernel(splitHeadsOp, b);
  if (sh) calls.splitHeads = (x, p) => sh([[x, packedShape(p)]], p);
  const mh = storageKernel(mergeHeadsOp, b);
  if (mh)
    calls.mergeHeads = (xs, p) =>
      mh(
        xs.map((x): StorageInput => [x, headShape(p)]),
        p,
      )[0]!;
  const ro = storageKernel(ropeOp, b);
  if (ro) {
    calls.rope = (x, p) =>
      ro([[x, [p.rows, p.seq, p.headDim]]], {
        startPos: p.startPos,
        base: p.base,
        scale: p.scale ?? 1,
        inverse: p.inverse,
      })[0]!;
  }
  return calls;
}

type Values = ArrayLike<number>;

/**
 * splitHeads by its definition: out[q][b, h, t, d] = x[b, t, (q * H + h) * hd + d]
 *
 * @param x - The packed values.
 * @param p - The layout.
 * @returns One float64 array per part.
 */
export function splitHeadsRef(x: Values, p: HeadsParams): Float64Array[] {
  const { batch: B, seq: T, heads: H, headDim: hd, parts: P } = p;
  const outs = Array.from({ length: P }, () => new Float64Array(B * H * T * hd));
  for (let q = 0; q < P; q++)
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let t = 0; t < T; t++)
          for (let d = 0; d < hd; d++) {
            outs[q]![((b * H + h) * T + t) * hd + d] = x[(b * T + t) * P * H * hd + (q * H + h) * hd + d]!;
          }
  return outs;
}

/**
 * mergeHeads by its definition: the inverse index map of splitHeadsRef
 *
 * @param xs - One array per part.
 * @param p - The layout.
 * @returns The packed float64 values.
 */
export function mergeHeadsRef(xs: readonly Values[], p: HeadsParams): Float64Array {
  const { batch: B, seq: T, heads: H, headDim: hd, parts: P } = p;
  const out = new Float64Array(B * T * P * H * hd);
  for (let q = 0; q < P; q++)
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let t = 0; t < T; t++)
          for (let d = 0; d < hd; d++) {
            out[(b * T + t) * P * H * hd + (q * H + h) * hd + d] = xs[q]![((b * H + h) * T + t) * hd + d]!;
          }
  return out;
}

/**
 * RoPE by its definition: each pair (i, i + hd/2) at position startPos + t is rotated by the angle
 * +-(startPos + t) * base^(-2i/hd), times scale; `mag` is |x1| + |x2| times scale (the error scale).
 *
 * @param x - The input values [rows, seq, headDim].
 * @param p - Sizes, positions, direction, scale.
 * @returns The rotated values and the per-element error scale.
 */
export function ropeRef(x: Values, p: RopeParams): { values: Float64Array; mag: Float64Array } {
  const { rows, seq: T, headDim: hd, startPos, base, inverse } = p;
  const scale = p.scale ?? 1;
  const half = hd / 2;
  const values = new Float64Array(rows * T * hd);
  const mag = new Float64Array(rows * T * hd);
  for (let r = 0; r < rows; r++)
    for (let t = 0; t < T; t++)
      for (let i = 0; i < half; i++) {
        const angle = (inverse ? -1 : 1) * (startPos + t) * base ** ((-2 * i) / hd);
        const at = (r * T + t) * hd + i;
        const x1 = x[at]!;
        const x2 = x[at + half]!;
        values[at] = scale * (x1 * Math.cos(angle) - x2 * Math.sin(angle));
        values[at + half] = scale * (x1 * Math.sin(angle) + x2 * Math.cos(angle));
        mag[at] = mag[at + half] = Math.abs(scale) * (Math.abs(x1) + Math.abs(x2));
      }
  return { values, mag };
}

/**
 * Registers the attention kernels' conformance section for one backend (tests skip where it has no such kernel).
 *
 * @param name - The backend's name in the test titles.
 * @param makeBackend - Creates the backend under test.
 * @param opts - Tolerances and skips (see ConformanceOptions).
 */
export function describeAttentionKernelConformance(
  name: string,
  makeBackend: () => Backend | Promise<Backend>,
  opts: ConformanceOptions = {},
): void {
  describeKernelSuite(`attention kernels: ${name}`, makeBackend, opts, (run, tol) => {
    const HEADS_CASES: HeadsParams[] = [
      { batch: 1, seq: 1, heads: 1, headDim: 1, parts: 1 },
      { batch: 2, seq: 3, heads: 2, headDim: 4, parts: 3 },
      { batch: 3, seq: 5, heads: 4, headDim: 2, parts: 1 },
      { batch: 2, seq: 7, heads: 3, headDim: 6, parts: 2 },
      { batch: 1, seq: 64, heads: 4, headDim: 32, parts: 3 },
    ];
    const headsLabel = (p: HeadsParams) => `B ${p.batch} T ${p.seq} H ${p.heads} hd ${p.headDim} parts ${p.parts}`;

    it(
      'splitHeads: packed [B, T, P*H*hd] -> P x [B, H, T, hd], exact',
      run(820, async (h, rng, b, ctx) => {
        const k = attentionCalls(b).splitHeads;
        if (!k) return ctx.skip('no splitHeads kernel');
        for (const p of HEADS_CASES) {
          const n = p.batch * p.seq * p.heads * p.headDim;
          const x = randomNormals(rng, n * p.parts);
          h.dirty(n);
          const outs = k(h.up(x), p);
          expect(outs.length).toBe(p.parts);
          const ref = splitHeadsRef(x, p);
          for (let q = 0; q < p.parts; q++) {
            expectClose(await h.get(h.own(outs[q]!), n), ref[q]!, 0, `splitHeads ${headsLabel(p)} part ${q}`);
          }
        }
      }),
    );

    it(
      'mergeHeads: P x [B, H, T, hd] -> packed, exact; it inverts splitHeads',
      run(821, async (h, rng, b, ctx) => {
        const k = attentionCalls(b).mergeHeads;
        if (!k) return ctx.skip('no mergeHeads kernel');
        for (const p of HEADS_CASES) {
          const n = p.batch * p.seq * p.heads * p.headDim;
          const xs = Array.from({ length: p.parts }, () => randomNormals(rng, n));
          h.dirty(n * p.parts);
          const got = await h.get(
            h.own(
              k(
                xs.map((x) => h.up(x)),
                p,
              ),
            ),
            n * p.parts,
          );
          expectClose(got, mergeHeadsRef(xs, p), 0, `mergeHeads ${headsLabel(p)}`);
          const split = attentionCalls(b).splitHeads;
          if (split) {
            const packed = randomNormals(rng, n * p.parts);
            const parts = split(h.up(packed), p).map((s) => h.own(s));
            const back = await h.get(h.own(k(parts, p)), n * p.parts);
            expectClose(back, packed, 0, `mergeHeads(splitHeads(x)) ${headsLabel(p)}`);
          }
        }
      }),
    );

    it(
      'rope: rotate-half pairs by (startPos + t) * base^(-2i/hd), inverse, scale',
      run(822, async (h, rng, b, ctx) => {
        const k = attentionCalls(b).rope;
        if (!k) return ctx.skip('no rope kernel');
        const cases: RopeParams[] = [
          { rows: 1, seq: 1, headDim: 2, startPos: 0, base: 10000, inverse: false },
          { rows: 3, seq: 5, headDim: 8, startPos: 0, base: 10000, inverse: false },
          { rows: 2, seq: 4, headDim: 6, startPos: 7, base: 50, inverse: false },
          { rows: 2, seq: 4, headDim: 6, startPos: 7, base: 50, inverse: true },
          { rows: 4, seq: 64, headDim: 32, startPos: 0, base: 10000, inverse: false, scale: 1 / Math.sqrt(32) },
          { rows: 4, seq: 3, headDim: 32, startPos: 300, base: 10000, inverse: true, scale: 0.25 },
        ];
        for (const p of cases) {
          const n = p.rows * p.seq * p.headDim;
          const x = randomNormals(rng, n);
          const got = await h.get(h.own(k(h.up(x), p)), n);
          const ref = ropeRef(x, p);
          // cos/sin of angles up to ~300 rad: their own rounding, two products and a sum
          const bound = scaledBound(ref.mag, 8 * tol, 0);
          const label = `rope rows ${p.rows} T ${p.seq} hd ${p.headDim} start ${p.startPos} base ${p.base} inverse ${p.inverse} scale ${p.scale ?? 1}`;
          expectClose(got, ref.values, bound, label);
          if (!p.inverse && (p.scale ?? 1) === 1) {
            // the inverse rotation undoes it
            const back = await h.get(h.own(k(h.up(got), { ...p, inverse: true })), n);
            expectClose(back, x, scaledBound(ref.mag, 16 * tol, 0), `${label}: inverse(rope(x)) = x`);
          }
        }
      }),
    );
  });
}
