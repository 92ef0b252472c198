/**
 * @tinyformer/ffn/testing: the conformance section of SwiGLU's kernels against float64 references, for any backend
 * that registers them, and storage-level calls into those kernels. Needs vitest (an optional peer dependency).
 */
import { type Backend, type Storage, storageKernel } from '@tinyformer/tensor';
import {
  type ConformanceOptions,
  describeKernelSuite,
  expectClose,
  randomFloats,
  scaledBound,
  unaryRef,
} from '@tinyformer/tensor/testing';
import { it } from 'vitest';
import { swigluBackwardOp, swigluOp } from '../swiglu.js';

/** Storage-level calls into a backend's SwiGLU kernels (undefined where it has none). */
export interface FfnKernelCalls {
  /**
   * The fused forward.
   *
   * @param a - The gate's storage.
   * @param b - The value's storage.
   * @param size - Elements in each.
   * @returns silu(a) * b.
   */
  swiglu?(a: Storage, b: Storage, size: number): Storage;
  /**
   * The fused backward.
   *
   * @param a - The gate's storage.
   * @param b - The value's storage.
   * @param dy - The output gradient.
   * @param size - Elements in each.
   * @returns The gradients of a and b.
   */
  swigluBackward?(a: Storage, b: Storage, dy: Storage, size: number): { da: Storage; db: Storage };
}

/**
 * The SwiGLU kernels a backend registered, callable on storages.
 *
 * @param b - The backend.
 * @returns Its calls; a kernel it does not register is undefined.
 */
export function ffnCalls(b: Backend): FfnKernelCalls {
  const calls: FfnKernelCalls = {};
  const sw = storageKernel(swigluOp, b);
  if (sw) {
    calls.swiglu = (a, v, n) =>
      sw(
        [
          [a, [n]],
          [v, [n]],
        ],
        null,
      )[0]!;
  }
  const swb = storageKernel(swigluBackwardOp, b);
  if (swb) {
    calls.swigluBackward = (a, v, dy, n) => {
      const [da, db] = swb(
        [
          [a, [n]],
          [v, [n]],
          [dy, [n]],
        ],
        null,
      ) as [Storage, Storage];
      return { da, db };
    };
  }
  return calls;
}

type Values = ArrayLike<number>;

/**
 * SwiGLU's gate silu(a) b and its backward (db = dy silu(a), da = dy b silu'(a)) by their definitions
 *
 * @param a - The gate's pre-activation.
 * @param b - The value.
 * @param dy - The output gradient.
 * @returns y, da and db in float64.
 */
export function swigluRef(a: Values, b: Values, dy: Values): { y: Float64Array; da: Float64Array; db: Float64Array } {
  const n = a.length;
  const y = new Float64Array(n);
  const da = new Float64Array(n);
  const db = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = unaryRef('silu', a[i]!) * b[i]!;
    db[i] = dy[i]! * unaryRef('silu', a[i]!);
    da[i] = dy[i]! * b[i]! * unaryRef('siluGrad', a[i]!);
  }
  return { y, da, db };
}

/**
 * Registers the SwiGLU kernels' conformance section for one backend (tests skip where it has no such kernel).
 *
 * @param name - The backend's name in the test titles.
 * @param makeBackend - Creates the backend under test.
 * @param opts - Tolerances and skips (see ConformanceOptions).
 */
export function describeFfnKernelConformance(
  name: string,
  makeBackend: () => Backend | Promise<Backend>,
  opts: ConformanceOptions = {},
): void {
  describeKernelSuite(`ffn kernels: ${name}`, makeBackend, opts, (run, tol) => {
    it(
      "swiglu and swigluBackward: silu(a) b, db = dy silu(a), da = dy b silu'(a)",
      run(831, async (h, rng, b, ctx) => {
        const kf = ffnCalls(b).swiglu;
        const kb = ffnCalls(b).swigluBackward;
        if (!kf || !kb) return ctx.skip('no swiglu kernel');
        for (const n of [1, 5, 257, 4099]) {
          const a = randomFloats(rng, n, -8, 8);
          const v = randomFloats(rng, n, -2, 2);
          const dy = randomFloats(rng, n, -2, 2);
          const ref = swigluRef(a, v, dy);
          const bound = (vals: Float64Array) =>
            scaledBound(
              vals.map((r, i) => Math.abs(r) + (1 + Math.abs(a[i]!)) * Math.abs(v[i]!) * 1e-2),
              16 * tol,
            );
          h.dirty(n);
          expectClose(await h.get(h.own(kf(h.up(a), h.up(v), n)), n), ref.y, bound(ref.y), `swiglu n ${n}`);
          const { da, db } = kb(h.up(a), h.up(v), h.up(dy), n);
          h.own(da);
          h.own(db);
          expectClose(await h.get(da, n), ref.da, bound(ref.da), `swigluBackward da n ${n}`);
          expectClose(await h.get(db, n), ref.db, bound(ref.db), `swigluBackward db n ${n}`);
        }
      }),
    );
  });
}
