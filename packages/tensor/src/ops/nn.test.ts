import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../backend.js';
import * as t from '../index.js';
import {
  allowedKeys,
  crossEntropyBackwardRef,
  crossEntropyRef,
  expectClose,
  F32_EPS,
  gatherRef,
  randomIndices,
  randomNormals,
  scatterAddRef,
  seedArb,
  shapeArb,
  softmaxBackwardRef,
  softmaxRef,
} from '../testing/index.js';

const fused = new t.CpuBackend();
const composite = new t.CpuBackend({ kernels: false });

/** softmax shapes: rank >= 1 (>= 2 for causal, with Tq <= Tk) */
const softmaxCase = fc
  .record({
    lead: shapeArb({ maxRank: 2, maxDim: 3 }),
    tq: fc.integer({ min: 1, max: 6 }),
    extra: fc.nat(4),
    causal: fc.boolean(),
  })
  .map(({ lead, tq, extra, causal }) => ({ shape: [...lead, tq, tq + extra], causal }));

const paramsOf = (shape: readonly number[], causal: boolean, log: boolean): t.SoftmaxParams => ({
  rows: t.sizeOf(shape) / shape[shape.length - 1]!,
  cols: shape[shape.length - 1]!,
  log,
  causalQueryLen: causal ? shape[shape.length - 2]! : 0,
});

describe('softmax and logSoftmax', () => {
  it('rows sum to 1, masked entries are 0, and values match the reference (fused and composite)', () => {
    fc.assert(
      fc.property(softmaxCase, seedArb, fc.constantFrom(1, 10), ({ shape, causal }, seed, scale) => {
        const v = randomNormals(new t.Rng(seed), t.sizeOf(shape), scale);
        const ref = softmaxRef(v, paramsOf(shape, causal, false));
        for (const backend of [fused, composite]) {
          const y = t.softmax(t.tensor(v, shape, { backend }), { causal });
          expect(y.shape).toEqual(shape);
          const got = y.dataSync();
          expectClose(got, ref, 4 * shape[shape.length - 1]! * F32_EPS * (1 + scale), `softmax on ${backend.name}`);
          const cols = shape[shape.length - 1]!;
          for (let r = 0; r < got.length / cols; r++) {
            const row = got.subarray(r * cols, (r + 1) * cols);
            expect(Math.abs(row.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5);
            const lim = allowedKeys(r, paramsOf(shape, causal, false));
            for (let j = lim; j < cols; j++) expect(row[j]).toBe(0);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it('logSoftmax = log(softmax) (masked entries -Infinity), fused and composite', () => {
    fc.assert(
      fc.property(softmaxCase, seedArb, ({ shape, causal }, seed) => {
        const v = randomNormals(new t.Rng(seed), t.sizeOf(shape), 3);
        for (const backend of [fused, composite]) {
          const x = t.tensor(v, shape, { backend });
          const lp = t.logSoftmax(x, { causal }).dataSync();
          const viaLog = t.log(t.softmax(x, { causal })).dataSync();
          expectClose(lp, viaLog, 1e-5, `logSoftmax on ${backend.name}`);
          expectClose(lp, softmaxRef(v, paramsOf(shape, causal, true)), 1e-5, 'logSoftmax reference');
        }
      }),
      { numRuns: 60 },
    );
  });

  it('the causal mask follows SoftmaxParams: query i of Tq sits at key position i + Tk - Tq', () => {
    const y = t.softmax(t.zeros([2, 4]), { causal: true }).arraySync();
    expect(y).toEqual([[1 / 3, 1 / 3, 1 / 3, 0].map(Math.fround), [0.25, 0.25, 0.25, 0.25]]);
    const m = t.causalMask(2, 3, t.zeros([1])).arraySync();
    expect(m).toEqual([
      [0, 0, Number.NEGATIVE_INFINITY],
      [0, 0, 0],
    ]);
  });

  it('is stable for huge logits, and a NaN poisons only its own row', () => {
    for (const backend of [fused, composite]) {
      const x = t.tensor(
        [
          [1000, 1001, 999],
          [1, Number.NaN, 2],
          [-1000, -1000, -1000],
        ],
        undefined,
        { backend },
      );
      const y = t.softmax(x).dataSync();
      expect(y.subarray(0, 3).every(Number.isFinite)).toBe(true);
      expect(y.subarray(3, 6).every(Number.isNaN)).toBe(true);
      expectClose(y.subarray(6), [1 / 3, 1 / 3, 1 / 3], 1e-7);
      expect(Number.isFinite(t.logSoftmax(x).dataSync()[0])).toBe(true);
    }
  });

  it('causal composite equals fused even when the masked (future) scores dwarf the visible ones', () => {
    // masked entries must not take part in the row max, or exp underflows every visible entry to 0 (0/0 = NaN)
    const v = [
      [0, 500, 800],
      [1, 2, 900],
      [3, 1, 2],
    ];
    const causal = true;
    const want = t.softmax(t.tensor(v, undefined, { backend: fused }), { causal }).dataSync();
    expectClose(want, [1, 0, 0, 0.2689414, 0.7310586, 0, 0.6652409, 0.0900306, 0.2447285], 1e-6, 'fused');
    const got = t.softmax(t.tensor(v, undefined, { backend: composite }), { causal }).dataSync();
    expectClose(got, want, 1e-6, 'softmax');
    const wantLog = t.logSoftmax(t.tensor(v, undefined, { backend: fused }), { causal }).dataSync();
    expectClose(
      t.logSoftmax(t.tensor(v, undefined, { backend: composite }), { causal }).dataSync(),
      wantLog,
      1e-5,
      'log',
    );
  });

  it('softmaxComposite / logSoftmaxComposite on a fused backend equal the fused kernels', () => {
    const x = t.tensor(randomNormals(new t.Rng(3), 2 * 5 * 7, 4), [2, 5, 7], { backend: fused });
    for (const causal of [false, true]) {
      expectClose(t.softmaxComposite(x, { causal }).dataSync(), t.softmax(x, { causal }).dataSync(), 1e-6);
      expectClose(t.logSoftmaxComposite(x, { causal }).dataSync(), t.logSoftmax(x, { causal }).dataSync(), 1e-5);
    }
  });

  it('softmaxBackward (fused, composite, and softmax-only fused) matches the Jacobian-vector product', () => {
    // a backend with a fused softmax but no fused backward takes the composite backward with fused outputs
    const partial = withKernels(['softmax']);
    fc.assert(
      fc.property(softmaxCase, fc.boolean(), seedArb, ({ shape, causal }, log, seed) => {
        const rng = new t.Rng(seed);
        const p = paramsOf(shape, causal, log);
        const y = Float32Array.from(softmaxRef(randomNormals(rng, t.sizeOf(shape), 2), p));
        const dy = randomNormals(rng, y.length);
        const ref = softmaxBackwardRef(y, dy, p);
        for (const backend of [fused, composite, partial]) {
          const dx = t.softmaxBackward(t.tensor(y, shape, { backend }), t.tensor(dy, shape, { backend }), attrsOf(p));
          expectClose(
            dx.dataSync(),
            ref.values,
            ref.mag.map((m) => 4 * p.cols * F32_EPS * m),
            `${backend.name} ${log}`,
          );
        }
      }),
      { numRuns: 60 },
    );
  });

  it('rank and mask errors name the op and the shape', () => {
    expect(() => t.softmax(t.ones([5]), { causal: true })).toThrow('softmax: input must have rank >= 2, got [5]');
    expect(() => t.logSoftmax(t.scalar(1))).toThrow('logSoftmax: input must have rank >= 1, got []');
    expect(() => t.softmax(t.ones([4, 3]), { causal: true })).toThrow(
      'softmax: causal mask needs queries <= keys, got [..., 4, 3] in [4,3]',
    );
    expect(() => t.softmax(t.arange(3))).toThrow('softmax: input [3] must be float32, got int32');
    expect(t.softmax(t.zeros([0, 3])).shape).toEqual([0, 3]);
  });
});

describe('crossEntropy', () => {
  it('per-row and mean losses match the naive reference on every backend', () => {
    fc.assert(
      fc.property(
        shapeArb({ minRank: 1, maxRank: 2, maxDim: 4 }),
        fc.integer({ min: 1, max: 12 }),
        seedArb,
        (lead, V, seed) => {
          const rng = new t.Rng(seed);
          const rows = t.sizeOf(lead);
          const logits = randomNormals(rng, rows * V, 3);
          const targets = randomIndices(rng, rows, V);
          const ref = crossEntropyRef(logits, targets, rows, V);
          const meanRef = ref.values.reduce((a, b) => a + b, 0) / rows;
          for (const backend of [fused, composite]) {
            const x = t.tensor(logits, [...lead, V], { backend });
            const tg = t.tensor(targets, lead, { backend });
            const perRow = t.crossEntropyRows(x, tg);
            expect(perRow.shape).toEqual(lead);
            expectClose(
              perRow.dataSync(),
              ref.values,
              ref.mag.map((m) => 4 * (V + 2) * F32_EPS * m),
              backend.name,
            );
            const loss = t.crossEntropy(x, tg);
            expect(loss.shape).toEqual([]);
            expect(Math.abs(loss.itemSync() - meanRef)).toBeLessThan(1e-5 * (1 + meanRef));
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('crossEntropyBackward = dLoss * (softmax - onehot) on every backend', () => {
    const rng = new t.Rng(8);
    const [rows, V] = [6, 9];
    const logits = randomNormals(rng, rows * V, 2);
    const targets = randomIndices(rng, rows, V);
    const dLoss = randomNormals(rng, rows);
    const ref = crossEntropyBackwardRef(logits, targets, dLoss, rows, V);
    for (const backend of [fused, composite]) {
      const g = t.crossEntropyBackward(
        t.tensor(logits, [2, 3, V], { backend }),
        t.tensor(targets, [2, 3], { backend }),
        t.tensor(dLoss, [2, 3], { backend }),
      );
      expect(g.shape).toEqual([2, 3, V]);
      expectClose(g.dataSync(), ref, 1e-6, backend.name);
    }
  });

  it('a uniform prediction costs log(V), a confident right one ~0, and NaN logits give NaN (not thrown)', () => {
    const tg = t.tensor(new Int32Array([2, 0]));
    expect(t.crossEntropyRows(t.zeros([2, 5]), tg).dataSync()).toEqual(Float32Array.from([Math.log(5), Math.log(5)]));
    expect(t.crossEntropy(t.tensor([[0, 0, 50, 0, 0]]), t.tensor(new Int32Array([2]))).itemSync()).toBeLessThan(1e-6);
    for (const backend of [fused, composite]) {
      const x = t.tensor(
        [
          [Number.NaN, 0, 0],
          [0, 0, 0],
        ],
        undefined,
        { backend },
      );
      const rowsLoss = t.crossEntropyRows(x, t.tensor(new Int32Array([1, 1]), undefined, { backend })).dataSync();
      expect(Number.isNaN(rowsLoss[0])).toBe(true);
      expect(rowsLoss[1]).toBeCloseTo(Math.log(3), 6);
    }
  });

  it('targets must be int32 of the logits leading shape, within [0, V)', () => {
    const x = t.zeros([2, 3, 5]);
    expect(() =>
      t.crossEntropy(
        x,
        t.tensor([
          [1, 2, 3],
          [0, 0, 0],
        ]),
      ),
    ).toThrow('crossEntropy: targets must be an int32 tensor, got float32 [2,3]');
    expect(() => t.crossEntropy(x, t.tensor(new Int32Array(6), [3, 2]))).toThrow(
      'crossEntropy: logits [2,3,5] need targets of shape [2,3], got [3,2]',
    );
    expect(() => t.crossEntropy(x, t.tensor(new Int32Array(6)))).toThrow(
      'crossEntropy: logits [2,3,5] need targets of shape [2,3], got [6]',
    );
    expect(() => t.crossEntropy(t.arange(5).reshape([1, 5]), t.tensor(new Int32Array([1])))).toThrow(
      'crossEntropy: logits [1,5] must be float32, got int32',
    );
    expect(() => t.crossEntropy(t.zeros([0, 5]), t.tensor(new Int32Array(0)))).toThrow(
      'crossEntropy: logits [0,5] have no rows',
    );
    const b = new t.CpuBackend();
    const logits = t.zeros([2, 5], { backend: b });
    const bad = t.tensor(new Int32Array([1, 5]), undefined, { backend: b });
    const before = b.memory().buffers;
    expect(() => t.crossEntropyRows(logits, bad)).toThrow('crossEntropy: target 5 at row 1 is outside [0, 5)');
    expect(() => t.crossEntropyRows(logits, bad)).toThrow(t.TensorError);
    expect(b.memory().buffers).toBe(before);
  });
});

describe('gather, scatterAdd, oneHot', () => {
  it('gather picks rows for indices of any shape and matches the reference', () => {
    fc.assert(
      fc.property(
        shapeArb({ maxRank: 3, maxDim: 4 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 5 }),
        seedArb,
        (ishape, V, D, seed) => {
          const rng = new t.Rng(seed);
          const table = randomNormals(rng, V * D);
          const idx = randomIndices(rng, t.sizeOf(ishape), V);
          const y = t.gather(t.tensor(table, [V, D]), t.tensor(idx, ishape));
          expect(y.shape).toEqual([...ishape, D]);
          expectClose(y.dataSync(), gatherRef(table, D, idx), 0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('scatterAdd sums rows at repeated indices and is the adjoint of gather: <gather(T, i), S> = <T, scatterAdd(S, i)>', () => {
    fc.assert(
      fc.property(
        shapeArb({ minRank: 1, maxRank: 2, maxDim: 5 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 4 }),
        seedArb,
        (ishape, V, D, seed) => {
          const rng = new t.Rng(seed);
          const n = t.sizeOf(ishape);
          const src = randomNormals(rng, n * D);
          const idx = randomIndices(rng, n, V);
          const table = randomNormals(rng, V * D);
          const s = t.scatterAdd(t.tensor(src, [...ishape, D]), t.tensor(idx, ishape), V);
          expect(s.shape).toEqual([V, D]);
          const ref = scatterAddRef(src, D, idx, V);
          expectClose(
            s.dataSync(),
            ref.values,
            ref.mag.map((m) => 4 * n * F32_EPS * m),
          );
          const lhs = t
            .sum(t.mul(t.gather(t.tensor(table, [V, D]), t.tensor(idx, ishape)), t.tensor(src, [...ishape, D])))
            .itemSync();
          const rhs = t.sum(t.mul(t.tensor(table, [V, D]), s)).itemSync();
          expect(Math.abs(lhs - rhs)).toBeLessThan(1e-4 * (1 + Math.abs(lhs)));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('oneHot builds rows of the identity', () => {
    expect(t.oneHot(t.tensor(new Int32Array([2, 0])), 3).arraySync()).toEqual([
      [0, 0, 1],
      [1, 0, 0],
    ]);
  });

  it('indices must be int32 and in range; errors leave no buffer behind', () => {
    const b = new t.CpuBackend();
    const table = t.ones([5, 2], { backend: b });
    expect(() => t.gather(table, t.tensor([1, 2], undefined, { backend: b }))).toThrow(
      'gather: indices must be an int32 tensor, got float32 [2]',
    );
    expect(() =>
      t.gather(t.ones([5], { backend: b }), t.tensor(new Int32Array([1]), undefined, { backend: b })),
    ).toThrow('gather: table must be [vocab, dim], got [5]');
    const idx = t.tensor(new Int32Array([1, 7]), undefined, { backend: b });
    const neg = t.tensor(new Int32Array([-1]), undefined, { backend: b });
    const src = t.ones([2, 2], { backend: b });
    const before = b.memory().buffers;
    expect(() => t.gather(table, idx)).toThrow('gather: index 7 at position 1 is outside [0, 5)');
    expect(() => t.gather(table, neg)).toThrow('gather: index -1 at position 0 is outside [0, 5)');
    expect(() => t.scatterAdd(src, idx, 5)).toThrow('scatterAdd: index 7 at position 1 is outside [0, 5)');
    expect(() => t.gather(table, idx)).toThrow(t.TensorError);
    expect(b.memory().buffers).toBe(before);
    expect(() => t.scatterAdd(t.ones([3, 2], { backend: b }), idx, 5)).toThrow(
      'scatterAdd: src [3,2] must be [...indices, dim] for indices [2]',
    );
    expect(() => t.scatterAdd(src, t.tensor([0, 1], undefined, { backend: b }), 5)).toThrow(
      'scatterAdd: indices must be an int32 tensor, got float32 [2]',
    );
  });
});

describe('composite ops free their intermediates', () => {
  it('softmax, logSoftmax, crossEntropy and their backward helpers on the composite backend leave only the result', () => {
    const b = new t.CpuBackend({ kernels: false });
    const x = t.tensor(randomNormals(new t.Rng(1), 24), [2, 3, 4], { backend: b });
    const tg = t.tensor(new Int32Array([0, 1, 2, 3, 0, 1]), [2, 3], { backend: b });
    const base = b.memory().buffers;
    const p = paramsOf([2, 3, 4], true, true);
    const outs = [
      t.softmax(x),
      t.softmax(x, { causal: true }),
      t.logSoftmax(x, { causal: true }),
      t.crossEntropyRows(x, tg),
      t.crossEntropy(x, tg),
      t.softmaxBackward(x, x, attrsOf(p)),
      t.crossEntropyBackward(x, tg, t.ones([2, 3], { backend: b })),
    ];
    // the ones() above is the only other survivor
    expect(b.memory().buffers).toBe(base + outs.length + 1);
  });
});

/** A CPU backend that runs only some op kernels. */
function withKernels(names: string[]): Backend {
  const b = new t.CpuBackend();
  return Object.assign(b, {
    kernelEnabled: (op: string) => names.includes(op),
    name: `cpu(${names.join('+')})`,
  });
}

const attrsOf = (p: t.SoftmaxParams) => ({ log: p.log, causal: p.causalQueryLen > 0 });
