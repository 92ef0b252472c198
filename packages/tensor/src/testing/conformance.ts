/**
 * The backend conformance suite: every Backend primitive and every registered op kernel of a backend, checked against
 * naive float64 references on seeded random inputs. Only the Backend interface is used (values go in through
 * upload and come back through `await download`), so the same suite runs on synchronous and asynchronous backends.
 *
 * Error bounds follow docs/gpujs-backend.md §4: an error that may grow with a reduction of length K is bounded by
 * c * K * 2^-24 * (the same reduction over absolute values), never by a plain relative tolerance, which fails near
 * cancellation and says nothing about zeros.
 */
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import {
  type AdamWParams,
  type Backend,
  type BackendMemory,
  type BinaryOp,
  type MatmulParams,
  type SoftmaxParams,
  type Storage,
  UNARY_OPS,
  type UnaryOp,
} from '../backend.js';
import { Rng } from '../random.js';
import { kernelCalls } from '../registry/kernel-calls.js';
import { broadcastShapes, formatShape, sizeOf } from '../shape.js';
import { awayFromZero, expectClose, F32_EPS, randomFloats, randomInts, randomNormals, scaledBound } from './helpers.js';
import {
  adamwRef,
  allowedKeys,
  binaryFnRef,
  broadcastRef,
  concatRef,
  crossEntropyBackwardRef,
  crossEntropyRef,
  gatherRef,
  matmulRef,
  padRef,
  permuteRef,
  reduceRef,
  scatterAddRef,
  sliceRef,
  softmaxBackwardRef,
  softmaxRef,
  unaryRef,
} from './reference.js';

/** Options of the conformance suites. */
export interface ConformanceOptions {
  /** called once after the suite (e.g. to destroy a WebGPU device) */
  teardown?: (backend: Backend) => void | Promise<void>;
  /** multiplies every error bound (default 1); e.g. 4 for a backend with fast-math transcendentals */
  tolerance?: number;
  /**
   * 'kernels' runs only the op-kernel section: a package that registers kernels (norm, attention, ffn) checks
   * them on a backend whose primitives another suite already covers
   */
  only?: 'kernels';
}

/** Every binary primitive, for the suites to loop over. */
export const BINARY_OPS: readonly BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'gt'];

/**
 * Tracks the storages a test creates, disposes them at the end and checks that the backend's live-buffer count
 * is back where it started (so a kernel that leaks a temporary fails here).
 */
export class Harness {
  private readonly owned = new Set<Storage>();
  private readonly start: BackendMemory;

  /** @param backend - The backend under test (its live-buffer count now is the baseline). */
  constructor(
    /** the backend under test */
    readonly backend: Backend,
  ) {
    this.start = backend.memory();
  }

  /**
   * Uploads values and tracks the storage.
   *
   * @param values - The values.
   * @returns The storage.
   */
  up(values: ArrayLike<number>): Storage {
    return this.own(this.backend.upload(values instanceof Float32Array ? values : Float32Array.from(values)));
  }

  /**
   * Tracks a storage a kernel returned.
   *
   * @param s - The storage (null is passed through).
   * @returns s.
   */
  own<T extends Storage | null>(s: T): T {
    if (s) this.owned.add(s);
    return s;
  }

  /**
   * Downloads values, checking their type and length.
   *
   * @param s - The storage.
   * @param size - Number of values.
   * @returns The values.
   */
  async get(s: Storage, size: number): Promise<Float32Array> {
    const v = await this.backend.download(s, size);
    expect(v).toBeInstanceOf(Float32Array);
    expect(v.length).toBe(size);
    return v;
  }

  /**
   * Disposes a tracked storage now.
   *
   * @param s - The storage.
   */
  free(s: Storage): void {
    this.owned.delete(s);
    this.backend.dispose(s);
  }

  /**
   * Leaves a freed buffer of this size full of junk, so a pooling backend that forgets to zero its output fails.
   *
   * @param size - Number of floats.
   */
  dirty(size: number): void {
    this.backend.dispose(this.backend.fill(size, 1234.5));
  }

  /** Disposes every tracked storage. */
  disposeAll(): void {
    for (const s of this.owned) this.backend.dispose(s);
    this.owned.clear();
  }

  /** Asserts the backend's live buffers and bytes are back at the baseline. */
  expectBaseline(): void {
    const m = this.backend.memory();
    expect(m.buffers, 'live buffers after disposing everything the test created').toBe(this.start.buffers);
    expect(m.bytes, 'live bytes after disposing everything the test created').toBe(this.start.bytes);
  }
}

/** A test body run with a fresh harness and a seeded generator (see `describeKernelSuite`). */
export type ConformanceRun = (
  seed: number,
  fn: (h: Harness, rng: Rng, b: Backend, ctx: TestContext) => Promise<void> | void,
) => (ctx: TestContext) => Promise<void>;

/**
 * A conformance section for the kernels a package registers (norm, attention, ffn, a user's): the backend is made
 * once, each test gets a fresh harness and a seeded generator, and the live-buffer check runs after each test
 * that passed. `body` registers the tests with `run` and the tolerance multiplier.
 *
 * @param name - The section's title.
 * @param makeBackend - Creates the backend under test.
 * @param opts - Tolerance, skips, teardown.
 * @param body - Registers the tests.
 */
export function describeKernelSuite(
  name: string,
  makeBackend: () => Backend | Promise<Backend>,
  opts: ConformanceOptions,
  body: (run: ConformanceRun, tol: number) => void,
): void {
  describe(name, () => {
    let backend: Backend;
    beforeAll(async () => {
      backend = await makeBackend();
    });
    afterAll(async () => {
      if (backend) await opts.teardown?.(backend);
    });
    const run: ConformanceRun = (seed, fn) => async (ctx) => {
      const h = new Harness(backend);
      try {
        await fn(h, new Rng(seed), backend, ctx);
      } finally {
        h.disposeAll();
      }
      h.expectBaseline();
    };
    body(run, opts.tolerance ?? 1);
  });
}

/**
 * Registers the conformance suite for one backend.
 *
 * @param name - The backend's name in the test titles.
 * @param makeBackend - Creates the backend under test.
 * @param opts - Tolerance, skips, which sections.
 *
 * @example
 * ```ts
 * // my-backend.test.ts
 * describeBackendConformance('my-backend', () => new MyBackend());
 * ```
 */
export function describeBackendConformance(
  name: string,
  makeBackend: () => Backend | Promise<Backend>,
  opts: ConformanceOptions = {},
): void {
  // with only: 'kernels' the primitive sections are not registered at all (not reported as skipped)
  const section = opts.only === 'kernels' ? (_name: string, _fn: () => void) => {} : describe;

  describeKernelSuite(`backend conformance: ${name}`, makeBackend, opts, (run, tol) => {
    section('spec, transfers and memory', () => {
      it(
        'declares spec v1, a name, and downloadSync exactly when synchronous',
        run(0, (_h, _rng, backend) => {
          expect(backend.specificationVersion).toBe('v1');
          expect(typeof backend.name).toBe('string');
          expect(backend.name.length).toBeGreaterThan(0);
          if (backend.synchronous) expect(typeof backend.downloadSync).toBe('function');
        }),
      );

      it(
        'upload/download round-trips float32 values bit for bit, specials included',
        run(1, async (h, rng) => {
          for (const n of [1, 3, 64, 1000]) {
            const v = randomNormals(rng, n, 100);
            const s = h.up(v);
            expectClose(await h.get(s, n), v, 0, `n=${n}`);
          }
          const specials = Float32Array.from([0, -0, 1, -1, 3.4e38, -3.4e38, 1e-30, Infinity, -Infinity, Number.NaN]);
          expectClose(await h.get(h.up(specials), specials.length), specials, 0, 'specials');
        }),
      );

      it(
        'upload rounds Float64Array input to float32 values',
        run(2, async (h, _rng, b) => {
          const v = Float64Array.from([0.1, 1 / 3, Math.PI, -1e-7, 123456.789]);
          const s = h.own(b.upload(v));
          expectClose(await h.get(s, v.length), Float32Array.from(v), 0);
        }),
      );

      it(
        'upload copies its input; download returns a fresh copy and can be repeated',
        run(3, async (h, rng) => {
          const v = randomFloats(rng, 16);
          const orig = v.slice();
          const s = h.up(v);
          v.fill(9);
          const first = await h.get(s, 16);
          expectClose(first, orig, 0, 'after mutating the uploaded array');
          first.fill(-9);
          expectClose(await h.get(s, 16), orig, 0, 'after mutating a downloaded array');
        }),
      );

      it(
        'fill writes the value everywhere (rounded to float32)',
        run(4, async (h, _rng, b) => {
          for (const n of [1, 5, 1025]) {
            for (const value of [0, -2.5, 0.1, 7]) {
              const s = h.own(b.fill(n, value));
              expectClose(await h.get(s, n), new Float32Array(n).fill(value), 0, `fill(${n}, ${value})`);
            }
          }
        }),
      );

      it(
        'size-0 storages upload, fill, run elementwise, download and dispose',
        run(5, async (h, _rng, b) => {
          const e = h.up(new Float32Array(0));
          expect((await h.get(e, 0)).length).toBe(0);
          expect((await h.get(h.own(b.fill(0, 3)), 0)).length).toBe(0);
          expect((await h.get(h.own(b.unary('exp', e, 0)), 0)).length).toBe(0);
          expect((await h.get(h.own(b.binary('add', e, [0, 3], h.up([1, 2, 3]), [3], [0, 3])), 0)).length).toBe(0);
        }),
      );

      it(
        'memory() counts live buffers and bytes, and returns to baseline after dispose',
        run(6, (h, rng, b) => {
          const m0 = b.memory();
          const s1 = b.upload(randomFloats(rng, 100));
          const s2 = b.fill(50, 1);
          const s3 = b.unary('exp', s1, 100);
          const m1 = b.memory();
          expect(m1.buffers).toBe(m0.buffers + 3);
          expect(m1.bytes).toBeGreaterThanOrEqual(m0.bytes + 4 * 250);
          b.dispose(s2);
          expect(b.memory().buffers).toBe(m0.buffers + 2);
          b.dispose(s1);
          b.dispose(s3);
          expect(b.memory()).toEqual(m0);
          // the harness sees the same baseline
          h.expectBaseline();
        }),
      );

      it(
        'primitives return fresh storages and leave their inputs unchanged',
        run(7, async (h, rng, b) => {
          const av = randomFloats(rng, 12);
          const bv = randomFloats(rng, 12);
          const a = h.up(av);
          const c = h.up(bv);
          const idx = h.up([1, 0, 2]);
          const outs: Storage[] = [
            b.unary('neg', a, 12),
            b.binary('add', a, [3, 4], c, [3, 4], [3, 4]),
            b.reduce('sum', a, 3, 4, 1),
            b.matmul(a, c, {
              batch: 1,
              M: 3,
              K: 4,
              N: 3,
              transA: false,
              transB: true,
              aBatchStride: 0,
              bBatchStride: 0,
            }),
            b.permute(a, [3, 4], [1, 0]),
            b.slice(a, [3, 4], [0, 0], [3, 4]),
            b.pad(a, [3, 4], [0, 0], [3, 4]),
            b.concat([a], [[3, 4]], 0),
            b.gather(a, 3, 4, idx, 3),
            b.scatterAdd(a, 3, 4, idx, 3),
          ];
          for (const o of outs) {
            h.own(o);
            expect(o === a || o === c || o === idx).toBe(false);
          }
          expect(new Set(outs).size).toBe(outs.length);
          expectClose(await h.get(a, 12), av, 0, 'a after all ops');
          expectClose(await h.get(c, 12), bv, 0, 'b after all ops');
          expectClose(await h.get(idx, 3), [1, 0, 2], 0, 'indices after all ops');
        }),
      );
    });

    section('unary', () => {
      const positive = new Set<UnaryOp>(['log', 'sqrt', 'rsqrt', 'reciprocal']);
      UNARY_OPS.forEach((op, k) => {
        it(
          `unary ${op} matches the float64 reference`,
          run(100 + k, async (h, rng, b) => {
            const n = 300;
            const x = positive.has(op)
              ? randomFloats(rng, n, 0.05, 8)
              : randomFloats(rng, n, op === 'exp' ? -10 : -6, 6);
            if (!positive.has(op)) x.set([0, -0, 1e-3, -1e-3, 2, -2]);
            const got = await h.get(h.own(b.unary(op, h.up(x), n)), n);
            const ref = Float64Array.from(x, (v) => unaryRef(op, v));
            // f32 rounding of the result plus an argument error that grows with |x| (fast-math exp/tanh)
            const scale = ref.map((r, i) => (Math.abs(r) + 1) * (1 + Math.abs(x[i]!)));
            expectClose(got, ref, scaledBound(scale, 16 * tol), `unary ${op}`);
          }),
        );
      });
    });

    section('binary with broadcasting', () => {
      const CASES: [number[], number[]][] = [
        [
          [3, 4],
          [3, 4],
        ],
        [[3, 4], [4]],
        [[4], [3, 4]],
        [
          [3, 1],
          [1, 4],
        ],
        [
          [2, 3, 4],
          [3, 1],
        ],
        [
          [2, 1, 4],
          [1, 3, 1],
        ],
        [[], [5]],
        [[5], []],
        [[], []],
        [[1], [2, 3]],
        [
          [2, 3, 1, 5],
          [4, 1],
        ],
        [[6, 1], [1]],
        [
          [1, 1, 4],
          [3, 4],
        ],
        [
          [1, 3],
          [2, 3, 1],
        ],
        [
          [3, 4],
          [1, 1],
        ],
        [
          [4, 1, 3],
          [4, 5, 3],
        ],
        [[37, 65], [65]],
      ];
      BINARY_OPS.forEach((op, k) => {
        it(
          `binary ${op} matches the float64 reference on ${CASES.length} broadcast shape pairs`,
          run(200 + k, async (h, rng, b) => {
            for (const [aShape, bShape] of CASES) {
              const outShape = broadcastShapes(op, aShape, bShape);
              const na = sizeOf(aShape);
              const nb = sizeOf(bShape);
              let av: Float32Array;
              let bv: Float32Array;
              if (op === 'eq' || op === 'gt') {
                // small integers so ties occur
                av = randomInts(rng, na, -1, 2);
                bv = randomInts(rng, nb, -1, 2);
              } else if (op === 'pow') {
                av = randomFloats(rng, na, 0.25, 4);
                bv = randomFloats(rng, nb, -3, 3);
              } else {
                av = randomFloats(rng, na, -4, 4);
                bv = op === 'div' ? awayFromZero(randomFloats(rng, nb, -4, 4), 0.25) : randomFloats(rng, nb, -4, 4);
              }
              const out = h.own(b.binary(op, h.up(av), aShape, h.up(bv), bShape, outShape));
              const got = await h.get(out, sizeOf(outShape));
              const ref = broadcastRef(binaryFnRef(op), av, aShape, bv, bShape).values;
              const scale = broadcastRef(
                (x, y) =>
                  op === 'pow'
                    ? Math.abs(x ** y) * (2 + Math.abs(y * Math.log(x)))
                    : Math.abs(x) + Math.abs(y) + Math.abs(binaryFnRef(op)(x, y)),
                av,
                aShape,
                bv,
                bShape,
              ).values;
              const exact = op === 'eq' || op === 'gt' || op === 'maximum' || op === 'minimum';
              expectClose(
                got,
                ref,
                exact ? 0 : scaledBound(scale, 4 * tol),
                `${op} ${formatShape(aShape)} ${formatShape(bShape)}`,
              );
            }
          }),
        );
      });
    });

    section('reduce', () => {
      const CASES: [number, number, number][] = [
        [1, 1, 1],
        [1, 9, 1],
        [4, 7, 1],
        [1, 6, 5],
        [3, 5, 4],
        [2, 1, 6],
        [5, 300, 1],
        [2, 1025, 3],
        [1, 4096, 1],
        [3, 0, 2],
      ];
      for (const op of ['sum', 'max'] as const) {
        it(
          `reduce ${op} over [outer, len, inner] views`,
          run(op === 'sum' ? 300 : 301, async (h, rng, b) => {
            for (const [outer, len, inner] of CASES) {
              // max of an empty axis is -Infinity by definition, which a GPU may not represent; not part of the spec
              if (op === 'max' && len === 0) continue;
              // all-negative inputs for max catch a 0-initialized accumulator
              const x =
                op === 'max' ? randomFloats(rng, outer * len * inner, -5, -1) : randomNormals(rng, outer * len * inner);
              h.dirty(outer * inner);
              const got = await h.get(h.own(b.reduce(op, h.up(x), outer, len, inner)), outer * inner);
              const ref = reduceRef(op, x, outer, len, inner);
              const bound = op === 'max' ? 0 : scaledBound(ref.mag, 2 * Math.max(len, 1) * tol);
              expectClose(got, ref.values, bound, `${op} [${outer},${len},${inner}]`);
            }
          }),
        );
      }
    });

    section('matmul', () => {
      const SIZES: [number, number, number][] = [
        [1, 1, 1],
        [2, 3, 4],
        [5, 7, 3],
        [4, 1, 6],
        [1, 64, 1],
        [17, 33, 9],
        [33, 2, 65],
        [65, 65, 65],
        [3, 0, 4],
      ];
      const check = async (h: Harness, rng: Rng, b: Backend, p: MatmulParams, label: string) => {
        const aSize = p.aBatchStride === 0 ? p.M * p.K : p.batch * p.M * p.K;
        const bSize = p.bBatchStride === 0 ? p.K * p.N : p.batch * p.K * p.N;
        const av = randomNormals(rng, aSize);
        const bv = randomNormals(rng, bSize);
        const outSize = p.batch * p.M * p.N;
        h.dirty(outSize);
        const got = await h.get(h.own(b.matmul(h.up(av), h.up(bv), p)), outSize);
        const ref = matmulRef(av, bv, p);
        expectClose(got, ref.values, scaledBound(ref.mag, Math.max(p.K, 1) * tol), label);
      };
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          it(
            `matmul transA=${transA} transB=${transB} on odd sizes (1..65, K=0 included)`,
            run(400 + Number(transA) * 2 + Number(transB), async (h, rng, b) => {
              for (const [M, K, N] of SIZES) {
                const p = { batch: 1, M, K, N, transA, transB, aBatchStride: 0, bBatchStride: 0 };
                await check(h, rng, b, p, `[${M},${K}]x[${K},${N}] tA=${transA} tB=${transB}`);
              }
            }),
          );
        }
      }
      it(
        'batched matmul with per-batch operands (all transpose flags)',
        run(410, async (h, rng, b) => {
          for (const [transA, transB] of [
            [false, false],
            [true, false],
            [false, true],
            [true, true],
          ] as const) {
            for (const [batch, M, K, N] of [
              [3, 5, 6, 7],
              [2, 9, 65, 5],
            ] as const) {
              const p = { batch, M, K, N, transA, transB, aBatchStride: M * K, bBatchStride: K * N };
              await check(h, rng, b, p, `batch ${batch} [${M},${K},${N}] tA=${transA} tB=${transB}`);
            }
          }
        }),
      );
      it(
        'batched matmul with a shared (stride-0) A or B',
        run(411, async (h, rng, b) => {
          for (const transA of [false, true]) {
            for (const transB of [false, true]) {
              const [batch, M, K, N] = [4, 6, 5, 3];
              await check(
                h,
                rng,
                b,
                { batch, M, K, N, transA, transB, aBatchStride: 0, bBatchStride: K * N },
                'shared A',
              );
              await check(
                h,
                rng,
                b,
                { batch, M, K, N, transA, transB, aBatchStride: M * K, bBatchStride: 0 },
                'shared B',
              );
            }
          }
        }),
      );
    });

    section('movement', () => {
      it(
        'permute matches the reference for every permutation of rank 1..4 shapes',
        run(500, async (h, rng, b) => {
          const cases: [number[], number[]][] = [
            [[5], [0]],
            [
              [2, 3],
              [1, 0],
            ],
            [
              [2, 3],
              [0, 1],
            ],
            [
              [1, 5, 1],
              [2, 0, 1],
            ],
            [
              [2, 3, 4, 5],
              [3, 1, 0, 2],
            ],
            [
              [2, 3, 4, 5],
              [0, 2, 1, 3],
            ],
            [
              [3, 1, 4, 2],
              [1, 3, 2, 0],
            ],
          ];
          for (const perm of permutations([0, 1, 2])) cases.push([[2, 3, 4], perm]);
          for (const [shape, perm] of cases) {
            const x = randomFloats(rng, sizeOf(shape));
            const got = await h.get(h.own(b.permute(h.up(x), shape, perm)), x.length);
            expectClose(got, permuteRef(x, shape, perm), 0, `permute ${formatShape(shape)} by [${perm}]`);
          }
        }),
      );

      it(
        'slice copies boxes, empty and full ones included',
        run(501, async (h, rng, b) => {
          const cases: [number[], number[], number[]][] = [
            [[5], [1], [3]],
            [
              [4, 5],
              [1, 2],
              [2, 3],
            ],
            [
              [4, 5],
              [0, 0],
              [4, 5],
            ],
            [
              [4, 5],
              [3, 0],
              [1, 5],
            ],
            [
              [3, 4, 5],
              [0, 1, 2],
              [3, 2, 1],
            ],
            [
              [2, 3, 4, 5],
              [1, 0, 2, 1],
              [1, 3, 2, 4],
            ],
            [
              [4, 5],
              [2, 2],
              [0, 3],
            ],
          ];
          for (const [shape, begin, size] of cases) {
            const x = randomFloats(rng, sizeOf(shape));
            const got = await h.get(h.own(b.slice(h.up(x), shape, begin, size)), sizeOf(size));
            expectClose(
              got,
              sliceRef(x, shape, begin, size),
              0,
              `slice ${formatShape(shape)} at [${begin}] size [${size}]`,
            );
          }
        }),
      );

      it(
        'pad places the input in zeros (also in a recycled buffer)',
        run(502, async (h, rng, b) => {
          const cases: [number[], number[], number[]][] = [
            [[3], [2], [7]],
            [
              [2, 3],
              [1, 0],
              [4, 5],
            ],
            [
              [2, 3],
              [0, 0],
              [2, 3],
            ],
            [
              [1, 2, 3],
              [1, 2, 0],
              [3, 4, 5],
            ],
            [
              [0, 3],
              [1, 1],
              [2, 4],
            ],
          ];
          for (const [shape, begin, outShape] of cases) {
            const x = randomFloats(rng, sizeOf(shape));
            h.dirty(sizeOf(outShape));
            const got = await h.get(h.own(b.pad(h.up(x), shape, begin, outShape)), sizeOf(outShape));
            expectClose(
              got,
              padRef(x, shape, begin, outShape),
              0,
              `pad ${formatShape(shape)} at [${begin}] in ${formatShape(outShape)}`,
            );
          }
        }),
      );

      it(
        'concat along every axis, with size-0 parts',
        run(503, async (h, rng, b) => {
          const cases: [number[][], number][] = [
            [[[3], [4]], 0],
            [
              [
                [2, 3],
                [1, 3],
                [4, 3],
              ],
              0,
            ],
            [
              [
                [2, 3],
                [2, 1],
                [2, 5],
              ],
              1,
            ],
            [
              [
                [2, 3, 4],
                [2, 2, 4],
              ],
              1,
            ],
            [
              [
                [2, 3, 4],
                [2, 3, 1],
                [2, 3, 2],
              ],
              2,
            ],
            [
              [
                [2, 0, 4],
                [2, 3, 4],
              ],
              1,
            ],
            [[[5, 2]], 0],
          ];
          for (const [shapes, axis] of cases) {
            const xs = shapes.map((s) => randomFloats(rng, sizeOf(s)));
            const total = xs.reduce((acc, x) => acc + x.length, 0);
            const out = b.concat(
              xs.map((x) => h.up(x)),
              shapes,
              axis,
            );
            const got = await h.get(h.own(out), total);
            expectClose(
              got,
              concatRef(xs, shapes, axis),
              0,
              `concat ${shapes.map((s) => formatShape(s)).join(' ')} axis ${axis}`,
            );
          }
        }),
      );
    });

    section('gather and scatterAdd', () => {
      it(
        'gather picks rows, repeats and empty index lists included',
        run(600, async (h, rng, b) => {
          for (const [V, D, n] of [
            [11, 5, 17],
            [3, 1, 4],
            [7, 64, 0],
            [1, 3, 2],
          ] as const) {
            const table = randomFloats(rng, V * D);
            const idx = randomInts(rng, n, 0, V);
            const got = await h.get(h.own(b.gather(h.up(table), V, D, h.up(idx), n)), n * D);
            expectClose(got, gatherRef(table, D, idx), 0, `gather V=${V} D=${D} n=${n}`);
          }
        }),
      );

      it(
        'scatterAdd sums rows at repeated indices into zeros',
        run(601, async (h, rng, b) => {
          for (const [V, D, n] of [
            [7, 4, 23],
            [3, 1, 9],
            [5, 3, 0],
            [64, 8, 300],
          ] as const) {
            const src = randomNormals(rng, n * D);
            const idx = randomInts(rng, n, 0, V);
            h.dirty(V * D);
            const got = await h.get(h.own(b.scatterAdd(h.up(src), n, D, h.up(idx), V)), V * D);
            const ref = scatterAddRef(src, D, idx, V);
            const bound = ref.mag.map((m, i) => 2 * tol * F32_EPS * Math.max(ref.count[i]!, 1) * m);
            expectClose(got, ref.values, bound, `scatterAdd V=${V} D=${D} n=${n}`);
          }
        }),
      );

      for (const op of ['gather', 'scatterAdd'] as const) {
        it(
          `${op} treats an index outside [0, vocab) as an error`,
          run(602, async (h, rng, b) => {
            for (const bad of [5, -1]) {
              const data = h.up(randomFloats(rng, 5 * 2));
              const idx = h.up([0, bad, 1]);
              let failed = false;
              try {
                const out =
                  op === 'gather'
                    ? b.gather(data, 5, 2, idx, 3)
                    : b.scatterAdd(h.up(randomFloats(rng, 6)), 3, 2, idx, 5);
                h.own(out);
                await b.download(out, op === 'gather' ? 6 : 10);
              } catch {
                failed = true;
              }
              expect(failed, `${op} with index ${bad} must throw or reject`).toBe(true);
            }
          }),
        );
      }
    });

    section('adamwUpdate', () => {
      const PARAMS: AdamWParams[] = [
        { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, step: 1, gradScale: 0.5 },
        { lr: 3e-4, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0, step: 1, gradScale: 1 },
      ];
      PARAMS.forEach((base, k) => {
        it(
          `updates param, m and v in place over 3 steps (lr ${base.lr}, wd ${base.weightDecay}, gradScale ${base.gradScale})`,
          run(700 + k, async (h, rng, b) => {
            const n = 257;
            let p: Float32Array = randomFloats(rng, n);
            let m: Float32Array = new Float32Array(n);
            let v: Float32Array = new Float32Array(n);
            const ps = h.up(p);
            const ms = h.up(m);
            const vs = h.up(v);
            for (let step = 1; step <= 3; step++) {
              const g = randomFloats(rng, n);
              const gs = h.up(g);
              const before = b.memory().buffers;
              b.adamwUpdate(ps, gs, ms, vs, n, { ...base, step });
              expect(b.memory().buffers, 'adamwUpdate allocates no lasting buffer').toBe(before);
              const ref = adamwRef(p, g, m, v, { ...base, step });
              const [pg, mg, vg] = [await h.get(ps, n), await h.get(ms, n), await h.get(vs, n)];
              const c = 8 * tol;
              expectClose(
                mg,
                ref.m,
                scaledBound(
                  ref.m.map((x, i) => Math.abs(x) + Math.abs(g[i]!)),
                  c,
                ),
                `m at step ${step}`,
              );
              expectClose(vg, ref.v, scaledBound(ref.v, c), `v at step ${step}`);
              const pScale = ref.param.map((x, i) => Math.abs(x) + base.lr * (Math.abs(ref.update[i]!) + 1));
              expectClose(pg, ref.param, scaledBound(pScale, c), `param at step ${step}`);
              expectClose(await h.get(gs, n), g, 0, 'grad is left unchanged');
              h.free(gs);
              [p, m, v] = [pg, mg, vg];
            }
          }),
        );
      });
    });

    describe("op kernels (skipped where the backend has none, or where the op's package is not imported)", () => {
      const SOFTMAX_CASES: { rows: number; cols: number; causalQueryLen: number; scale: number }[] = [
        { rows: 1, cols: 1, causalQueryLen: 0, scale: 1 },
        { rows: 4, cols: 10, causalQueryLen: 0, scale: 1 },
        { rows: 3, cols: 257, causalQueryLen: 0, scale: 3 },
        { rows: 5, cols: 12, causalQueryLen: 0, scale: 40 },
        { rows: 12, cols: 6, causalQueryLen: 6, scale: 2 },
        { rows: 6, cols: 8, causalQueryLen: 3, scale: 2 },
        { rows: 4, cols: 5, causalQueryLen: 1, scale: 2 },
        { rows: 8, cols: 9, causalQueryLen: 4, scale: 30 },
      ];
      const describeCase = (p: SoftmaxParams) => `rows ${p.rows} cols ${p.cols} Tq ${p.causalQueryLen} log ${p.log}`;

      it(
        'softmax / log-softmax rows, causal with Tq <= Tk, large logits',
        run(800, async (h, rng, b, ctx) => {
          const k = kernelCalls(b).softmax;
          if (!k) return ctx.skip('no softmax kernel');
          for (const c of SOFTMAX_CASES) {
            for (const log of [false, true]) {
              const p: SoftmaxParams = { rows: c.rows, cols: c.cols, log, causalQueryLen: c.causalQueryLen };
              const x = randomNormals(rng, c.rows * c.cols, c.scale);
              const got = await h.get(h.own(k(h.up(x), p)), x.length);
              const ref = softmaxRef(x, p);
              const bound = new Float64Array(x.length);
              for (let r = 0; r < p.rows; r++) {
                const lim = allowedKeys(r, p);
                const row = Array.from(x.subarray(r * p.cols, r * p.cols + lim));
                const maxAbs = Math.max(...row.map(Math.abs));
                // the row sum has lim terms; exp's argument error grows with |x - max|
                const atol = 4 * tol * F32_EPS * (lim + 2 * maxAbs + (log ? Math.log(lim) : 0));
                for (let j = 0; j < lim; j++) bound[r * p.cols + j] = atol;
              }
              expectClose(got, ref, bound, `softmax ${describeCase(p)}`);
            }
          }
        }),
      );

      it(
        'softmaxBackward matches the Jacobian-vector product, masked entries 0',
        run(801, async (h, rng, b, ctx) => {
          const k = kernelCalls(b).softmaxBackward;
          if (!k) return ctx.skip('no softmaxBackward kernel');
          for (const c of SOFTMAX_CASES) {
            for (const log of [false, true]) {
              const p: SoftmaxParams = { rows: c.rows, cols: c.cols, log, causalQueryLen: c.causalQueryLen };
              const y = Float32Array.from(softmaxRef(randomNormals(rng, c.rows * c.cols, Math.min(c.scale, 3)), p));
              const dy = randomNormals(rng, y.length);
              const got = await h.get(h.own(k(h.up(y), h.up(dy), p)), y.length);
              const ref = softmaxBackwardRef(y, dy, p);
              const bound = ref.mag.map((m, i) => 4 * tol * F32_EPS * allowedKeys(Math.floor(i / p.cols), p) * m);
              expectClose(got, ref.values, bound, `softmaxBackward ${describeCase(p)}`);
            }
          }
        }),
      );

      const CE_CASES: [number, number][] = [
        [1, 1],
        [1, 5],
        [7, 5],
        [4, 65],
        [3, 1000],
      ];

      it(
        'crossEntropy per-row loss',
        run(802, async (h, rng, b, ctx) => {
          const k = kernelCalls(b).crossEntropy;
          if (!k) return ctx.skip('no crossEntropy kernel');
          for (const [rows, vocab] of CE_CASES) {
            const logits = randomNormals(rng, rows * vocab, 3);
            const targets = randomInts(rng, rows, 0, vocab);
            const got = await h.get(h.own(k(h.up(logits), h.up(targets), rows, vocab)), rows);
            const ref = crossEntropyRef(logits, targets, rows, vocab);
            const bound = ref.mag.map((m) => 4 * tol * F32_EPS * (vocab + m));
            expectClose(got, ref.values, bound, `crossEntropy rows ${rows} vocab ${vocab}`);
          }
        }),
      );

      it(
        'crossEntropyBackward = dLoss * (softmax - onehot)',
        run(803, async (h, rng, b, ctx) => {
          const k = kernelCalls(b).crossEntropyBackward;
          if (!k) return ctx.skip('no crossEntropyBackward kernel');
          for (const [rows, vocab] of CE_CASES) {
            const logits = randomNormals(rng, rows * vocab, 3);
            const targets = randomInts(rng, rows, 0, vocab);
            const dLoss = randomFloats(rng, rows, -2, 2);
            h.dirty(rows * vocab);
            const got = await h.get(h.own(k(h.up(logits), h.up(targets), h.up(dLoss), rows, vocab)), rows * vocab);
            const ref = crossEntropyBackwardRef(logits, targets, dLoss, rows, vocab);
            const bound = ref.map((_, i) => {
              const r = Math.floor(i / vocab);
              const row = Array.from(logits.subarray(r * vocab, (r + 1) * vocab));
              return 4 * tol * F32_EPS * (vocab + 2 * Math.max(...row.map(Math.abs))) * Math.abs(dLoss[r]!);
            });
            expectClose(got, ref, bound, `crossEntropyBackward rows ${rows} vocab ${vocab}`);
          }
        }),
      );

      it(
        'unaryMul: y * op(x) for the derivative ops and the activations',
        run(830, async (h, rng, b, ctx) => {
          const k = kernelCalls(b).unaryMul;
          if (!k) return ctx.skip('no unaryMul kernel');
          for (const op of ['geluGrad', 'siluGrad', 'step', 'gelu', 'silu', 'sigmoid', 'square', 'neg'] as UnaryOp[]) {
            for (const n of [1, 7, 300]) {
              const x = randomFloats(rng, n, -6, 6);
              const y = randomFloats(rng, n, -2, 2);
              h.dirty(n);
              const got = await h.get(h.own(k(op, h.up(x), h.up(y), n)), n);
              const ref = Float64Array.from(x, (v, i) => unaryRef(op, v) * y[i]!);
              // the unary op's bound (as in the unary tests) times |y|, plus the product's rounding
              const scale = ref.map(
                (_r, i) => (Math.abs(unaryRef(op, x[i]!)) + 1) * (1 + Math.abs(x[i]!)) * Math.abs(y[i]!),
              );
              expectClose(got, ref, scaledBound(scale, 20 * tol), `unaryMul ${op} n ${n}`);
            }
          }
        }),
      );
    });
  });
}

function permutations(xs: readonly number[]): number[][] {
  if (xs.length <= 1) return [[...xs]];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));
}
