/**
 * @tinyformer/norm/testing: the norm kernels' conformance section (RMSNorm and LayerNorm, forward and backward,
 * against float64 references with error bounds that scale with the row length), for any backend that registers
 * kernels for these ops, and storage-level calls into those kernels. Needs vitest (an optional peer dependency).
 */
import { type Backend, type Storage, type StorageInput, storageKernel } from '@tinyformer/tensor';
import {
  type ConformanceOptions,
  describeKernelSuite,
  expectClose,
  F32_EPS,
  randomFloats,
  randomNormals,
  scaledBound,
} from '@tinyformer/tensor/testing';
import { expect, it } from 'vitest';
import { layernormBackwardOp, layernormOp, rmsnormBackwardOp, rmsnormOp } from '../ops.js';

/** A norm kernel's sizes and eps. */
export interface NormRowsParams {
  /** number of rows */
  rows: number;
  /** features per row */
  dim: number;
  /** added under the square root */
  eps: number;
}

/** Storage-level calls into a backend's norm kernels (undefined where it has none). */
export interface NormKernelCalls {
  /**
   * RMSNorm forward on storage.
   *
   * @param x - The input [rows, dim].
   * @param g - The scale [dim], or null.
   * @param p - Sizes and eps.
   * @returns y and the per-row rstd.
   */
  rmsnormForward?(x: Storage, g: Storage | null, p: NormRowsParams): { y: Storage; rstd: Storage };
  /**
   * RMSNorm backward on storage.
   *
   * @param dy - The output gradient.
   * @param x - The input.
   * @param g - The scale, or null.
   * @param rstd - The forward's per-row rstd.
   * @param rows - Number of rows.
   * @param dim - Features per row.
   * @returns dx, and dg with a scale.
   */
  rmsnormBackward?(
    dy: Storage,
    x: Storage,
    g: Storage | null,
    rstd: Storage,
    rows: number,
    dim: number,
  ): { dx: Storage; dg: Storage | null };
  /**
   * LayerNorm forward on storage.
   *
   * @param x - The input [rows, dim].
   * @param g - The scale [dim], or null.
   * @param b - The shift [dim], or null.
   * @param p - Sizes and eps.
   * @returns y and the per-row mean and rstd.
   */
  layernormForward?(
    x: Storage,
    g: Storage | null,
    b: Storage | null,
    p: NormRowsParams,
  ): { y: Storage; mean: Storage; rstd: Storage };
  /**
   * LayerNorm backward on storage.
   *
   * @param dy - The output gradient.
   * @param x - The input.
   * @param g - The scale, or null.
   * @param mean - The forward's per-row mean.
   * @param rstd - The forward's per-row rstd.
   * @param rows - Number of rows.
   * @param dim - Features per row.
   * @param withBias - Whether to compute db.
   * @returns dx, and dg and db where asked.
   */
  layernormBackward?(
    dy: Storage,
    x: Storage,
    g: Storage | null,
    mean: Storage,
    rstd: Storage,
    rows: number,
    dim: number,
    withBias: boolean,
  ): { dx: Storage; dg: Storage | null; db: Storage | null };
}

/**
 * The norm kernels a backend registered, callable on storages.
 *
 * @param b - The backend.
 * @returns Its calls; a kernel it does not register is undefined.
 */
export function normCalls(b: Backend): NormKernelCalls {
  const calls: NormKernelCalls = {};
  const rf = storageKernel(rmsnormOp, b);
  if (rf) {
    calls.rmsnormForward = (x, g, p) => {
      const ins: StorageInput[] = [[x, [p.rows, p.dim]]];
      if (g) ins.push([g, [p.dim]]);
      const [y, rstd] = rf(ins, { eps: p.eps, hasScale: g !== null }) as [Storage, Storage];
      return { y, rstd };
    };
  }
  const rb = storageKernel(rmsnormBackwardOp, b);
  if (rb) {
    calls.rmsnormBackward = (dy, x, g, rstd, rows, dim) => {
      const ins: StorageInput[] = [
        [dy, [rows, dim]],
        [x, [rows, dim]],
      ];
      if (g) ins.push([g, [dim]]);
      ins.push([rstd, [rows, 1]]);
      const [dx, dg] = rb(ins, { eps: 0, hasScale: g !== null });
      return { dx: dx!, dg: dg ?? null };
    };
  }
  const lf = storageKernel(layernormOp, b);
  if (lf) {
    calls.layernormForward = (x, g, bias, p) => {
      const ins: StorageInput[] = [[x, [p.rows, p.dim]]];
      if (g) ins.push([g, [p.dim]]);
      if (bias) ins.push([bias, [p.dim]]);
      const [y, mean, rstd] = lf(ins, { eps: p.eps, hasScale: g !== null, hasShift: bias !== null }) as Storage[];
      return { y: y!, mean: mean!, rstd: rstd! };
    };
  }
  const lb = storageKernel(layernormBackwardOp, b);
  if (lb) {
    calls.layernormBackward = (dy, x, g, mean, rstd, rows, dim, withBias) => {
      const ins: StorageInput[] = [
        [dy, [rows, dim]],
        [x, [rows, dim]],
      ];
      if (g) ins.push([g, [dim]]);
      ins.push([mean, [rows, 1]], [rstd, [rows, 1]]);
      const outs = lb(ins, { eps: 0, hasScale: g !== null, hasShift: withBias });
      return { dx: outs[0]!, dg: g ? outs[1]! : null, db: withBias ? outs[g ? 2 : 1]! : null };
    };
  }
  return calls;
}

type Values = ArrayLike<number>;

/** A reference norm forward: the output and the per-row statistics. */
export interface NormRef {
  /** the output */
  y: Float64Array;
  /** per-row mean (0 for RMSNorm) */
  mean: Float64Array;
  /** per-row 1 / sqrt(var + eps) */
  rstd: Float64Array;
}

/**
 * LayerNorm (rms = false) or RMSNorm (rms = true) forward; g and b optional.
 *
 * @param x - The input [rows, dim].
 * @param g - The scale, or null.
 * @param b - The shift, or null.
 * @param rows - Number of rows.
 * @param dim - Features per row.
 * @param eps - Added under the square root.
 * @param rms - RMSNorm (true) or LayerNorm (false).
 * @returns y, mean, rstd in float64.
 */
export function normForwardRef(
  x: Values,
  g: Values | null,
  b: Values | null,
  rows: number,
  dim: number,
  eps: number,
  rms: boolean,
): NormRef {
  const y = new Float64Array(rows * dim);
  const mean = new Float64Array(rows);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let mu = 0;
    if (!rms) {
      for (let j = 0; j < dim; j++) mu += x[r * dim + j]!;
      mu /= dim;
    }
    let v = 0;
    for (let j = 0; j < dim; j++) v += (x[r * dim + j]! - mu) ** 2;
    const rs = 1 / Math.sqrt(v / dim + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (let j = 0; j < dim; j++) y[r * dim + j] = (x[r * dim + j]! - mu) * rs * (g ? g[j]! : 1) + (b ? b[j]! : 0);
  }
  return { y, mean, rstd };
}

/**
 * Norm backward from the Jacobian of one row written out entry by entry: with xhat_j = (x_j - mu) rstd,
 * d xhat_j / d x_i = rstd (delta_ij - [!rms]/dim - xhat_i xhat_j / dim). `mag` is the same sum over absolute terms.
 *
 * @param dy - The output gradient.
 * @param x - The input [rows, dim].
 * @param g - The scale, or null.
 * @param rows - Number of rows.
 * @param dim - Features per row.
 * @param eps - Added under the square root.
 * @param rms - RMSNorm (true) or LayerNorm (false).
 * @returns dx, dg, db and their error scales, in float64.
 */
export function normBackwardRef(
  dy: Values,
  x: Values,
  g: Values | null,
  rows: number,
  dim: number,
  eps: number,
  rms: boolean,
): {
  dx: Float64Array;
  dxMag: Float64Array;
  dg: Float64Array;
  db: Float64Array;
  dgMag: Float64Array;
  dbMag: Float64Array;
} {
  const { mean, rstd } = normForwardRef(x, null, null, rows, dim, eps, rms);
  const dx = new Float64Array(rows * dim);
  const dxMag = new Float64Array(rows * dim);
  const dg = new Float64Array(dim);
  const db = new Float64Array(dim);
  const dgMag = new Float64Array(dim);
  const dbMag = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    const rs = rstd[r]!;
    const xhat = (j: number) => (x[r * dim + j]! - mean[r]!) * rs;
    // xhat over absolute values: a backend rounds the mean it is given, an error of order |mean| rstd eps
    const xhatAbs = (j: number) => (Math.abs(x[r * dim + j]!) + Math.abs(mean[r]!)) * rs;
    for (let i = 0; i < dim; i++) {
      let acc = 0;
      let m = 0;
      for (let j = 0; j < dim; j++) {
        const dxhat = dy[r * dim + j]! * (g ? g[j]! : 1);
        const jac = rs * ((i === j ? 1 : 0) - (rms ? 0 : 1 / dim) - (xhat(i) * xhat(j)) / dim);
        acc += dxhat * jac;
        m += Math.abs(dxhat) * rs * ((i === j ? 1 : 0) + (rms ? 0 : 1 / dim) + (xhatAbs(i) * xhatAbs(j)) / dim);
      }
      dx[r * dim + i] = acc;
      dxMag[r * dim + i] = m;
      dg[i]! += dy[r * dim + i]! * xhat(i);
      dgMag[i]! += Math.abs(dy[r * dim + i]!) * xhatAbs(i);
      db[i]! += dy[r * dim + i]!;
      dbMag[i]! += Math.abs(dy[r * dim + i]!);
    }
  }
  return { dx, dxMag, dg, db, dgMag, dbMag };
}

/** One AdamW step (decoupled weight decay, bias-corrected moments), returning new param, m and v. */

/**
 * Registers the norm kernels' conformance section for one backend (tests skip where it has no such kernel).
 *
 * @param name - The backend's name in the test titles.
 * @param makeBackend - Creates the backend under test.
 * @param opts - Tolerances and skips (see ConformanceOptions).
 */
export function describeNormKernelConformance(
  name: string,
  makeBackend: () => Backend | Promise<Backend>,
  opts: ConformanceOptions = {},
): void {
  describeKernelSuite(`norm kernels: ${name}`, makeBackend, opts, (run, tol) => {
    const NORM_CASES: [number, number][] = [
      [1, 1],
      [3, 8],
      [4, 65],
      [2, 256],
    ];
    const EPS = 1e-5;

    for (const rms of [true, false]) {
      const kind = rms ? 'rmsnorm' : 'layernorm';
      const affines: [boolean, boolean][] = rms
        ? [
            [true, false],
            [false, false],
          ]
        : [
            [true, true],
            [true, false],
            [false, true],
            [false, false],
          ];

      it(
        `${kind}Forward (affine variants) saves its row statistics`,
        run(rms ? 810 : 811, async (h, rng, b, ctx) => {
          const kr = normCalls(b).rmsnormForward;
          const kl = normCalls(b).layernormForward;
          if (rms ? !kr : !kl) return ctx.skip(`no ${kind} kernel`);
          for (const [rows, dim] of NORM_CASES) {
            for (const [withG, withB] of affines) {
              // an offset mean catches a one-pass E[x^2] - E[x]^2 variance
              const x = randomNormals(rng, rows * dim).map((v) => v + (rms ? 0 : 4));
              const g = withG ? randomFloats(rng, dim, 0.5, 1.5) : null;
              const bias = withB ? randomFloats(rng, dim) : null;
              const p = { rows, dim, eps: EPS };
              const ref = normForwardRef(x, g, bias, rows, dim, EPS, rms);
              const label = `${kind} rows ${rows} dim ${dim} g ${withG} b ${withB}`;
              let y: Storage;
              let rstd: Storage;
              let mean: Storage | null = null;
              if (rms) {
                ({ y, rstd } = kr!(h.up(x), g && h.up(g), p));
              } else {
                ({ y, mean, rstd } = kl!(h.up(x), g && h.up(g), bias && h.up(bias), p));
              }
              h.own(y);
              h.own(rstd);
              h.own(mean);
              const c = 4 * tol;
              const rowScale = (r: number) => {
                let s = 0;
                for (let j = 0; j < dim; j++) s += Math.abs(x[r * dim + j]!);
                return s;
              };
              const rstdGot = await h.get(rstd, rows);
              expectClose(rstdGot, ref.rstd, scaledBound(ref.rstd, c * (dim + 2)), `${label}: rstd`);
              if (mean) {
                const meanBound = ref.mean.map((_, r) => c * F32_EPS * rowScale(r));
                expectClose(await h.get(mean, rows), ref.mean, meanBound, `${label}: mean`);
              }
              const yBound = ref.y.map((v, i) => {
                const r = Math.floor(i / dim);
                const gj = g ? Math.abs(g[i % dim]!) : 1;
                const bj = bias ? Math.abs(bias[i % dim]!) : 0;
                const centered = Math.abs(v - (bias ? bias[i % dim]! : 0));
                return c * F32_EPS * ((dim + 4) * centered + gj * ref.rstd[r]! * rowScale(r) + bj);
              });
              expectClose(await h.get(y, rows * dim), ref.y, yBound, `${label}: y`);
            }
          }
        }),
      );

      it(
        `${kind}Backward matches the Jacobian-vector product (dx, dg${rms ? '' : ', db'})`,
        run(rms ? 812 : 813, async (h, rng, b, ctx) => {
          const kr = normCalls(b).rmsnormBackward;
          const kl = normCalls(b).layernormBackward;
          if (rms ? !kr : !kl) return ctx.skip(`no ${kind}Backward kernel`);
          for (const [rows, dim] of NORM_CASES) {
            for (const [withG, withB] of affines) {
              const x = randomNormals(rng, rows * dim).map((v) => v + (rms ? 0 : 2));
              const dy = randomNormals(rng, rows * dim);
              const g = withG ? randomFloats(rng, dim, 0.5, 1.5) : null;
              const stats = normForwardRef(x, null, null, rows, dim, EPS, rms);
              const ref = normBackwardRef(dy, x, g, rows, dim, EPS, rms);
              const label = `${kind} backward rows ${rows} dim ${dim} g ${withG} b ${withB}`;
              h.dirty(dim);
              let dx: Storage;
              let dg: Storage | null;
              let db: Storage | null = null;
              if (rms) {
                ({ dx, dg } = kr!(h.up(dy), h.up(x), g && h.up(g), h.up(stats.rstd), rows, dim));
              } else {
                ({ dx, dg, db } = kl!(
                  h.up(dy),
                  h.up(x),
                  g && h.up(g),
                  h.up(stats.mean),
                  h.up(stats.rstd),
                  rows,
                  dim,
                  withB,
                ));
              }
              h.own(dx);
              h.own(dg);
              h.own(db);
              expect(dg === null, `${label}: dg is null exactly when g is`).toBe(!withG);
              expect(db === null, `${label}: db is null exactly when there is no bias`).toBe(!withB);
              const c = 4 * tol;
              expectClose(await h.get(dx, rows * dim), ref.dx, scaledBound(ref.dxMag, c * (dim + 4)), `${label}: dx`);
              if (dg) expectClose(await h.get(dg, dim), ref.dg, scaledBound(ref.dgMag, c * (rows + 4)), `${label}: dg`);
              if (db) expectClose(await h.get(db, dim), ref.db, scaledBound(ref.dbMag, c * (rows + 1)), `${label}: db`);
            }
          }
        }),
      );
    }
  });
}
