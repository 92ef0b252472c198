import { describe, expect, it, type TestContext } from 'vitest';
import type { Backend } from '../backend.js';
import { CpuBackend } from '../cpu/cpu-backend.js';
import { tensor } from '../ops/creation.js';
import { Rng } from '../random.js';
import { type CaseInput, type Op, type OpCase, registeredOps } from '../registry/op.js';
import { formatShape, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { randomFloats, randomInts } from './helpers.js';

/** Options of describeOpConformance. */
export interface OpConformanceOptions {
  /** only these ops (default: every op defined so far that has cases) */
  ops?: readonly string[];
  /** multiplies the error bound (default 1) */
  tolerance?: number;
  /** called once after the suite */
  teardown?: (backend: Backend) => void | Promise<void>;
}

/** the float64 reference: composites of primitives only */
const reference = new CpuBackend({ precision: 'float64', kernels: false });

function inputValues(rng: Rng, c: CaseInput): Float32Array {
  const n = sizeOf(c.shape);
  if (c.ints !== undefined) return randomInts(rng, n, 0, c.ints);
  const [lo, hi] = c.range ?? [-1, 1];
  return randomFloats(rng, n, lo, hi);
}

async function values(t: Tensor): Promise<Float64Array> {
  return Float64Array.from(await t.data());
}

/**
 * |got - ref| <= tol * 1e-5 * (|ref| + max finite |ref| of that tensor + 1e-3): float32 kernels against float64
 * math; non-finite values must be identical
 */
function expectNear(got: Float64Array, ref: Float64Array, tol: number, label: string): void {
  expect(got.length, `${label}: length`).toBe(ref.length);
  let scale = 0;
  for (const v of ref) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < ref.length; i++) {
    // -Infinity (a masked log-probability) and NaN must match exactly
    if (!Number.isFinite(ref[i]!) || !Number.isFinite(got[i]!)) {
      if (Object.is(got[i], ref[i])) continue;
      throw new Error(`${label}: element ${i} is ${got[i]}, the float64 composite gives ${ref[i]}`);
    }
    const bound = tol * 1e-5 * (Math.abs(ref[i]!) + scale + 1e-3);
    const err = Math.abs(got[i]! - ref[i]!);
    if (!(err <= bound)) {
      throw new Error(`${label}: element ${i} is ${got[i]}, the float64 composite gives ${ref[i]} (bound ${bound})`);
    }
  }
}

/**
 * Checks every registered kernel of the given backend against its op's composite, run in float64 on the CPU, on the
 * cases the op definition carries: forward outputs, then the backward rule on the kernel's saved tensors against
 * the rule on the composite's. An op without a kernel for this backend is skipped with a message. Works for any
 * op, including ones a user defines outside the core packages.
 *
 * @param name - The backend's name in the test titles.
 * @param makeBackend - Creates the backend under test.
 * @param opts - Which ops, tolerance, teardown.
 */
export function describeOpConformance(
  name: string,
  makeBackend: () => Backend | Promise<Backend>,
  opts: OpConformanceOptions = {},
): void {
  const tol = opts.tolerance ?? 1;
  const ops = registeredOps().filter((op) => op.spec.cases?.length && (!opts.ops || opts.ops.includes(op.name)));
  describe(`op kernels vs float64 composites: ${name}`, () => {
    let backend: Backend | null = null;
    const get = async () => {
      backend ??= await makeBackend();
      return backend;
    };
    if (ops.length === 0) {
      it('has ops with cases to check', () => {
        throw new Error(`no registered op has conformance cases${opts.ops ? ` among ${opts.ops.join(', ')}` : ''}`);
      });
    }
    for (const op of ops) {
      it(`${op.name}: kernel == composite, forward and backward`, async (ctx: TestContext) => {
        const b = await get();
        if (!op.kernelFor(b)) return ctx.skip(`no ${op.name} kernel on ${b.name}`);
        const cases = op.spec.cases as readonly OpCase<unknown>[];
        for (const [k, c] of cases.entries()) await checkCase(op, c, b, new Rng(7000 + k), tol);
      });
    }
    it('teardown', async () => {
      if (backend) await opts.teardown?.(backend);
    });
  });
}

async function checkCase(op: Op<unknown>, c: OpCase<unknown>, b: Backend, rng: Rng, tol: number): Promise<void> {
  const label = `${op.name} ${c.inputs.map((i) => formatShape(i.shape)).join(' ')} ${JSON.stringify(c.attrs)}`;
  const raw = c.inputs.map((i) => inputValues(rng, i));
  const make = (be: Backend) =>
    c.inputs.map((i, k) =>
      tensor(raw[k]!, i.shape, { backend: be, dtype: i.ints !== undefined ? 'int32' : 'float32' }),
    );
  const onB = make(b);
  const onRef = make(reference);
  const got = op.forward(onB, c.attrs);
  const want = op.forward(onRef, c.attrs, { composite: true });
  expect(got.outputs.length, `${label}: outputs`).toBe(want.outputs.length);
  for (const [k, o] of want.outputs.entries()) {
    expect(got.outputs[k]!.shape, `${label}: output ${k} shape`).toEqual(o.shape);
    expectNear(await values(got.outputs[k]!), await values(o), tol, `${label}: output ${k}`);
  }
  if (op.backward !== 'none') {
    const rule = op.backward as (g: readonly (Tensor | null)[], ctx: unknown) => readonly (Tensor | null)[];
    const gs = want.outputs.map((o) => randomFloats(rng, o.size));
    const gradsOn = (be: Backend, r: typeof got, inputs: Tensor[]) =>
      rule(
        r.outputs.map((o, k) => tensor(gs[k]!, o.shape, { backend: be })),
        { inputs, outputs: r.outputs, attrs: c.attrs, saved: r.saved },
      );
    const gGot = gradsOn(b, got, onB);
    const gWant = gradsOn(reference, want, onRef);
    for (const [k, g] of gWant.entries()) {
      if (c.noGrad?.includes(k)) continue;
      expect(gGot[k] === null, `${label}: gradient ${k} is null on both`).toBe(g === null);
      if (g && gGot[k]) {
        expect(gGot[k]!.shape, `${label}: gradient ${k} shape`).toEqual(c.inputs[k]!.shape);
        expectNear(await values(gGot[k]!), await values(g), 4 * tol, `${label}: gradient of input ${k}`);
      }
    }
  }
}
