import { defineMultiOp, defineOp } from '@tinyformer/autograd';
import {
  concat,
  formatShape,
  type HeadsParams,
  ShapeError,
  split,
  type Tensor,
  tidy,
  wrap,
  zeros,
} from '@tinyformer/tensor';

/**
 * Attention's head layout changes as differentiable ops: the packed projection [B, T, P*H*hd] (P = 3 for a fused
 * QKV) to P tensors [B, H, T, hd], and one [B, H, T, hd] back to [B, T, H*hd]. Each direction is one fused kernel
 * where the backend has splitHeads/mergeHeads (each is the other's adjoint, so backward is the other kernel);
 * otherwise the composite reshape + permute + split (concat + permute backwards), which every backend runs.
 */

interface HeadsAttrs {
  params: HeadsParams;
}

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

/** packed [B, T, P*H*hd] -> P x [B, H, T, hd], not recorded */
function splitImpl(x: Tensor, p: HeadsParams): Tensor[] {
  const k = x.backend.fused.splitHeads;
  if (k) return k(x.storage, p).map((s) => wrap(x.backend, s, headShape(p)));
  return tidy(() => {
    const t = x.reshape([p.batch, p.seq, p.parts, p.heads, p.headDim]).permute([2, 0, 3, 1, 4]);
    const parts = p.parts === 1 ? [t] : split(t, p.parts, 0);
    return parts.map((u) => u.reshape(headShape(p)));
  });
}

/** P x [B, H, T, hd] -> packed [B, T, P*H*hd], not recorded */
function mergeImpl(xs: readonly Tensor[], p: HeadsParams): Tensor {
  const first = xs[0]!;
  const k = first.backend.fused.mergeHeads;
  if (k) {
    return wrap(
      first.backend,
      k(
        xs.map((x) => x.storage),
        p,
      ),
      packedShape(p),
    );
  }
  return tidy(() => {
    const stacked = concat(
      xs.map((x) => x.reshape([1, ...headShape(p)])),
      0,
    );
    return stacked.permute([1, 3, 0, 2, 4]).reshape(packedShape(p));
  });
}

const splitHeadsOp = defineMultiOp<HeadsAttrs>({
  name: 'splitHeads',
  forward(inputs, { params }) {
    return { outputs: splitImpl(inputs[0]!, params) };
  },
  backward(grads, { inputs, attrs }) {
    const x = inputs[0]!;
    const p = attrs.params;
    const zero = () => zeros(headShape(p), { backend: x.backend });
    return [
      mergeImpl(
        grads.map((g) => g ?? zero()),
        p,
      ),
    ];
  },
});

const mergeHeadsOp = defineOp<HeadsAttrs>({
  name: 'mergeHeads',
  forward(inputs, { params }) {
    return { output: mergeImpl(inputs, params) };
  },
  backward(grad, { attrs }) {
    return splitImpl(grad, attrs.params);
  },
});

/**
 * Splits a packed projection (B, T, parts * heads * hd), e.g. a fused QKV with parts = 3, into `parts` tensors
 * (B, heads, T, hd).
 */
export function splitHeads(x: Tensor, heads: number, parts = 1): Tensor[] {
  return splitHeadsOp([x], { params: headsParams('splitHeads', x.shape, heads, parts) });
}

/** (B, heads, T, hd) -> (B, T, heads * hd): the attention output back into one row per token. */
export function mergeHeads(x: Tensor): Tensor {
  if (x.rank !== 4) throw new ShapeError('mergeHeads', `input must be (B, H, T, hd), got ${formatShape(x.shape)}`);
  const [batch, heads, seq, headDim] = x.shape as [number, number, number, number];
  return mergeHeadsOp([x], { params: { batch, seq, heads, headDim, parts: 1 } });
}
