import type { Backend, SoftmaxParams, Storage, UnaryOp } from '../backend.js';
import { type DType, Tensor } from '../tensor.js';
import { registeredOps } from './op.js';

/**
 * Storage-level access to registered op kernels, for the conformance suite and the kernel benchmarks: storage-level calls (values in through `upload`, out
 * through `download`, like the primitives) that run one op's kernel on a backend, found by op name among the ops
 * defined in this process. An op whose package was not imported, or that has no kernel for the backend, is
 * undefined here, and its tests skip. The layouts are those of the owning packages' ops (norm, attention, ffn).
 */

/** attention's head layout: packed [batch, seq, parts*heads*headDim] <-> parts x [batch, heads, seq, headDim] */
export interface HeadsParams {
  batch: number;
  seq: number;
  heads: number;
  headDim: number;
  parts: number;
}

/** RoPE on [rows, seq, headDim], rotate-half pairs, positions from startPos; inverse rotates back */
export interface RopeParams {
  rows: number;
  seq: number;
  headDim: number;
  startPos: number;
  base: number;
  inverse: boolean;
  scale?: number;
}

export interface NormRowsParams {
  rows: number;
  dim: number;
  eps: number;
}

export interface KernelCalls {
  softmax?(x: Storage, p: SoftmaxParams): Storage;
  softmaxBackward?(y: Storage, dy: Storage, p: SoftmaxParams): Storage;
  crossEntropy?(logits: Storage, targets: Storage, rows: number, vocab: number): Storage;
  crossEntropyBackward?(logits: Storage, targets: Storage, dLoss: Storage, rows: number, vocab: number): Storage;
  unaryMul?(op: UnaryOp, x: Storage, y: Storage, size: number): Storage;
  rmsnormForward?(x: Storage, g: Storage | null, p: NormRowsParams): { y: Storage; rstd: Storage };
  rmsnormBackward?(
    dy: Storage,
    x: Storage,
    g: Storage | null,
    rstd: Storage,
    rows: number,
    dim: number,
  ): { dx: Storage; dg: Storage | null };
  layernormForward?(
    x: Storage,
    g: Storage | null,
    b: Storage | null,
    p: NormRowsParams,
  ): { y: Storage; mean: Storage; rstd: Storage };
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
  splitHeads?(x: Storage, p: HeadsParams): Storage[];
  mergeHeads?(xs: readonly Storage[], p: HeadsParams): Storage;
  rope?(x: Storage, p: RopeParams): Storage;
  swiglu?(a: Storage, b: Storage, size: number): Storage;
  swigluBackward?(a: Storage, b: Storage, dy: Storage, size: number): { da: Storage; db: Storage };
}

type Run = (inputs: readonly [Storage, readonly number[], DType?][], attrs: unknown) => Storage[];

/** The kernel of the op named `name` on backend b, as a storage-level call; undefined when there is none. */
function kernelCall(b: Backend, name: string): Run | undefined {
  const op = registeredOps().find((o) => o.name === name);
  const kernel = op?.kernelFor(b);
  if (!op || !kernel) return undefined;
  return (inputs, attrs) => {
    // views over the caller's storages: never disposed here (the harness owns them)
    const ts = inputs.map(([s, shape, dtype]) => new Tensor(b, s, shape, dtype ?? 'float32'));
    op.spec.shapes(ts, attrs);
    const r = kernel(b, ts, attrs);
    if (!r) throw new Error(`the '${b.name}' kernel of '${name}' declined the inputs`);
    return [...r.outputs, ...(r.saved ?? [])];
  };
}

const softmaxShape = (p: SoftmaxParams) =>
  p.causalQueryLen > 0 ? [p.rows / p.causalQueryLen, p.causalQueryLen, p.cols] : [p.rows, p.cols];
const headShape = (p: HeadsParams) => [p.batch, p.heads, p.seq, p.headDim];
const packedShape = (p: HeadsParams) => [p.batch, p.seq, p.parts * p.heads * p.headDim];

/** Storage-level calls into the kernels registered for backend b (see KernelCalls). */
export function kernelCalls(b: Backend): KernelCalls {
  const k = (name: string) => kernelCall(b, name);
  const calls: KernelCalls = {};
  const sm = k('softmax');
  if (sm) calls.softmax = (x, p) => sm([[x, softmaxShape(p)]], { log: p.log, causal: p.causalQueryLen > 0 })[0]!;
  const smb = k('softmaxBackward');
  if (smb) {
    calls.softmaxBackward = (y, dy, p) =>
      smb(
        [
          [y, softmaxShape(p)],
          [dy, softmaxShape(p)],
        ],
        { log: p.log, causal: p.causalQueryLen > 0 },
      )[0]!;
  }
  const ce = k('crossEntropy');
  if (ce) {
    calls.crossEntropy = (l, t, rows, vocab) =>
      ce(
        [
          [l, [rows, vocab]],
          [t, [rows], 'int32'],
        ],
        null,
      )[0]!;
  }
  const ceb = k('crossEntropyBackward');
  if (ceb) {
    calls.crossEntropyBackward = (l, t, d, rows, vocab) =>
      ceb(
        [
          [l, [rows, vocab]],
          [t, [rows], 'int32'],
          [d, [rows]],
        ],
        null,
      )[0]!;
  }
  const um = k('unaryMul');
  if (um) {
    calls.unaryMul = (op, x, y, n) =>
      um(
        [
          [x, [n]],
          [y, [n]],
        ],
        { op },
      )[0]!;
  }
  const rf = k('rmsnorm');
  if (rf) {
    calls.rmsnormForward = (x, g, p) => {
      const ins: [Storage, number[]][] = [[x, [p.rows, p.dim]]];
      if (g) ins.push([g, [p.dim]]);
      const [y, rstd] = rf(ins, { eps: p.eps, hasScale: g !== null }) as [Storage, Storage];
      return { y, rstd };
    };
  }
  const rb = k('rmsnormBackward');
  if (rb) {
    calls.rmsnormBackward = (dy, x, g, rstd, rows, dim) => {
      const ins: [Storage, number[]][] = [
        [dy, [rows, dim]],
        [x, [rows, dim]],
      ];
      if (g) ins.push([g, [dim]]);
      ins.push([rstd, [rows, 1]]);
      const [dx, dg] = rb(ins, { eps: 0, hasScale: g !== null });
      return { dx: dx!, dg: dg ?? null };
    };
  }
  const lf = k('layernorm');
  if (lf) {
    calls.layernormForward = (x, g, bias, p) => {
      const ins: [Storage, number[]][] = [[x, [p.rows, p.dim]]];
      if (g) ins.push([g, [p.dim]]);
      if (bias) ins.push([bias, [p.dim]]);
      const [y, mean, rstd] = lf(ins, { eps: p.eps, hasScale: g !== null, hasShift: bias !== null }) as Storage[];
      return { y: y!, mean: mean!, rstd: rstd! };
    };
  }
  const lb = k('layernormBackward');
  if (lb) {
    calls.layernormBackward = (dy, x, g, mean, rstd, rows, dim, withBias) => {
      const ins: [Storage, number[]][] = [
        [dy, [rows, dim]],
        [x, [rows, dim]],
      ];
      if (g) ins.push([g, [dim]]);
      ins.push([mean, [rows, 1]], [rstd, [rows, 1]]);
      const outs = lb(ins, { eps: 0, hasScale: g !== null, hasShift: withBias });
      return { dx: outs[0]!, dg: g ? outs[1]! : null, db: withBias ? outs[g ? 2 : 1]! : null };
    };
  }
  const sh = k('splitHeads');
  if (sh) calls.splitHeads = (x, p) => sh([[x, packedShape(p)]], p);
  const mh = k('mergeHeads');
  if (mh)
    calls.mergeHeads = (xs, p) =>
      mh(
        xs.map((x) => [x, headShape(p)] as [Storage, number[]]),
        p,
      )[0]!;
  const ro = k('rope');
  if (ro) {
    calls.rope = (x, p) =>
      ro([[x, [p.rows, p.seq, p.headDim]]], {
        startPos: p.startPos,
        base: p.base,
        scale: p.scale ?? 1,
        inverse: p.inverse,
      })[0]!;
  }
  const sw = k('swiglu');
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
  const swb = k('swigluBackward');
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
