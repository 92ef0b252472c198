import { concat, defineOp, formatShape, type Op, ShapeError, split, type Tensor, zeros } from '@tinyformer/tensor';
import type { HeadsParams } from './params.js';

/**
 * Attention's head layout changes as differentiable ops: the packed projection [B, T, P*H*hd] (P = 3 for a fused
 * QKV) to P tensors [B, H, T, hd], and one [B, H, T, hd] back to [B, T, H*hd]. Each direction is one fused kernel
 * where the backend has a kernel (cpu/cpu-kernels.ts); each is the other's adjoint, so each one's backward is
 * the other op. The composite is reshape + permute + split (concat + permute), which every backend runs.
 */

function headsParams(op: string, packed: readonly number[], heads: number, parts: number): HeadsParams {
  if (packed.length !== 3) throw new ShapeError(op, `input must be (B, T, C), got ${formatShape(packed)}`);
  const [batch, seq, width] = packed as [number, number, number];
  if (
    !Number.isInteger(heads) ||
    heads <= 0 ||
    !Number.isInteger(parts) ||
    parts <= 0 ||
    width % (heads * parts) !== 0
  ) {
    throw new ShapeError(op, `width ${width} of ${formatShape(packed)} does not split into ${parts} x ${heads} heads`);
  }
  return { batch, seq, heads, headDim: width / (heads * parts), parts };
}

const headShape = (p: HeadsParams) => [p.batch, p.heads, p.seq, p.headDim];
const packedShape = (p: HeadsParams) => [p.batch, p.seq, p.parts * p.heads * p.headDim];

function checkPacked(op: string, x: Tensor, p: HeadsParams): void {
  if (x.rank !== 3 || x.shape[0] !== p.batch || x.shape[1] !== p.seq || x.shape[2] !== p.parts * p.heads * p.headDim) {
    throw new ShapeError(op, `input ${formatShape(x.shape)} is not [${packedShape(p).join(', ')}]`);
  }
}

/** mergeHeads as an op: P x [B, H, T, hd] -> packed [B, T, P*H*hd]; its backward is splitHeads */
export const mergeHeadsOp: Op<HeadsParams> = defineOp<HeadsParams>({
  name: 'mergeHeads',
  shapes(xs, p) {
    if (xs.length !== p.parts || xs.some((x) => formatShape(x.shape) !== formatShape(headShape(p)))) {
      throw new ShapeError(
        'mergeHeads',
        `inputs ${xs.map((x) => formatShape(x.shape)).join(', ')} are not ${p.parts} x [${headShape(p).join(', ')}]`,
      );
    }
    return { outputs: [packedShape(p)] };
  },
  composite(xs, p) {
    const stacked = concat(
      xs.map((x) => x.reshape([1, ...headShape(p)])),
      0,
    );
    return { outputs: [stacked.permute([1, 3, 0, 2, 4]).reshape(packedShape(p))] };
  },
  backward: ([g], { attrs }) => splitHeadsOp.apply([g!], attrs),
  cases: [
    {
      inputs: [{ shape: [2, 2, 3, 4] }, { shape: [2, 2, 3, 4] }],
      attrs: { batch: 2, seq: 3, heads: 2, headDim: 4, parts: 2 },
    },
    { inputs: [{ shape: [1, 3, 5, 4] }], attrs: { batch: 1, seq: 5, heads: 3, headDim: 4, parts: 1 } },
  ],
});

/** splitHeads as an op: packed [B, T, P*H*hd] -> P x [B, H, T, hd]; its backward is mergeHeads */
export const splitHeadsOp: Op<HeadsParams> = defineOp<HeadsParams>({
  name: 'splitHeads',
  shapes([x], p) {
    checkPacked('splitHeads', x!, p);
    return { outputs: Array.from({ length: p.parts }, () => headShape(p)) };
  },
  composite([x], p) {
    const t = x!.reshape([p.batch, p.seq, p.parts, p.heads, p.headDim]).permute([2, 0, 3, 1, 4]);
    const parts = p.parts === 1 ? [t] : split(t, p.parts, 0);
    return { outputs: parts.map((u) => u.reshape(headShape(p))) };
  },
  backward(grads, { inputs, attrs }) {
    const x = inputs[0]!;
    const gs = grads.map((g) => g ?? zeros(headShape(attrs), { backend: x.backend }));
    return mergeHeadsOp.apply(gs, attrs);
  },
  cases: [
    { inputs: [{ shape: [2, 3, 24] }], attrs: { batch: 2, seq: 3, heads: 2, headDim: 4, parts: 3 } },
    { inputs: [{ shape: [1, 5, 12] }], attrs: { batch: 1, seq: 5, heads: 3, headDim: 4, parts: 1 } },
    { inputs: [{ shape: [2, 4, 12] }], attrs: { batch: 2, seq: 4, heads: 3, headDim: 2, parts: 2 } },
  ],
});

/**
 * Splits a packed projection (B, T, parts * heads * hd), e.g. a fused QKV with parts = 3, into `parts` tensors
 * (B, heads, T, hd).
 *
 * @param x - The packed projection (B, T, parts * heads * hd).
 * @param heads - Number of heads.
 * @param parts - Tensors packed in each row (default 1).
 * @returns `parts` tensors (B, heads, T, hd).
 * @throws {@link @tinyformer/tensor!ShapeError} when x is not rank 3 or its width does not split into parts x heads.
 */
export function splitHeads(x: Tensor, heads: number, parts = 1): Tensor[] {
  return splitHeadsOp.apply([x], headsParams('splitHeads', x.shape, heads, parts));
}

/**
 * (B, heads, T, hd) -> (B, T, heads * hd): the attention output back into one row per token.
 *
 * @param x - Per-head outputs (B, heads, T, hd).
 * @returns (B, T, heads * hd).
 * @throws {@link @tinyformer/tensor!ShapeError} when x is not rank 4.
 */
export function mergeHeads(x: Tensor): Tensor {
  if (x.rank !== 4) throw new ShapeError('mergeHeads', `input must be (B, H, T, hd), got ${formatShape(x.shape)}`);
  const [batch, heads, seq, headDim] = x.shape as [number, number, number, number];
  return mergeHeadsOp.apply([x], { batch, seq, heads, headDim, parts: 1 })[0]!;
}
