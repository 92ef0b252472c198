import { concat, defineOp, formatShape, type Op, split, type Tensor, TensorError, tensor } from '@tinyformer/tensor';
import type { RopeAttrs } from './params.js';

/**
 * Rotary position embedding (Su et al. 2021), "rotate half" layout (GPT-NeoX / Llama): the head dim is split into
 * halves (x1, x2) and each pair is rotated by angle pos * base^(-2i/hd). `scale` multiplies the result (attention
 * folds its 1/sqrt(hd) into the queries here, saving a pass over them).
 *
 * One differentiable op: the backend's `rope` kernel where it has one, else a composite of primitives (split, four
 * products with cos/sin tables, concat). Either way the backward is the inverse rotation (a rotation's Jacobian is
 * its transpose), times the same scale.
 *
 * @param x - Queries or keys (..., T, hd), hd even.
 * @param startPos - Position of the first of the T tokens (the KV cache's length when decoding).
 * @param base - The angle base (default 10000).
 * @param scale - Multiplies the result (default 1).
 * @returns The rotated tensor, x's shape.
 * @throws {@link @tinyformer/tensor!TensorError} when the head dim is odd or x has rank < 2.
 */
export function applyRope(x: Tensor, startPos: number, base = 10000, scale = 1): Tensor {
  return ropeOp.apply([x], { startPos, base, scale, inverse: false })[0]!;
}

function checkRope(x: Tensor): void {
  const hd = x.shape[x.rank - 1]!;
  if (x.rank < 2 || hd % 2 !== 0) {
    throw new TensorError('rope', `head dim must be even, got ${hd} in ${formatShape(x.shape)}`);
  }
}

/** RoPE on x (..., T, hd) as one op; its backward is the same op with `inverse` flipped. */
export const ropeOp: Op<RopeAttrs> = defineOp<RopeAttrs>({
  name: 'rope',
  shapes([x]) {
    checkRope(x!);
    return { outputs: [x!.shape] };
  },
  composite: ([x], a) => ({ outputs: [ropeComposite(x!, a.startPos, a.base, a.scale, a.inverse)] }),
  backward: ([g], { attrs }) => ropeOp.apply([g!], { ...attrs, inverse: !attrs.inverse }),
  cases: [
    { inputs: [{ shape: [3, 5, 8] }], attrs: { startPos: 0, base: 10000, scale: 1, inverse: false } },
    { inputs: [{ shape: [2, 4, 6] }], attrs: { startPos: 7, base: 50, scale: 1, inverse: true } },
    { inputs: [{ shape: [2, 2, 3, 16] }], attrs: { startPos: 30, base: 10000, scale: 0.25, inverse: false } },
  ],
});

/**
 * The composite of primitives (every backend has these); `inverse` rotates by minus the angle.
 *
 * @param x - Queries or keys (..., T, hd), hd even.
 * @param startPos - Position of the first token.
 * @param base - The angle base (default 10000).
 * @param scale - Multiplies the result (default 1).
 * @param inverse - Rotate by minus the angle (default false).
 * @returns The rotated tensor, x's shape.
 */
export function ropeComposite(x: Tensor, startPos: number, base = 10000, scale = 1, inverse = false): Tensor {
  const T = x.shape[x.rank - 2]!;
  const hd = x.shape[x.rank - 1]!;
  if (x.rank < 2 || hd % 2 !== 0) {
    throw new TensorError('rope', `head dim must be even, got ${hd} in ${formatShape(x.shape)}`);
  }
  const { cos, sin } = ropeTables(T, hd, startPos, base, inverse ? -scale : scale, scale, x);
  const [x1, x2] = split(x, 2, -1) as [Tensor, Tensor];
  const r1 = x1.mul(cos).sub(x2.mul(sin));
  const r2 = x1.mul(sin).add(x2.mul(cos));
  return concat([r1, r2], -1);
}

function ropeTables(
  T: number,
  hd: number,
  startPos: number,
  base: number,
  sinScale: number,
  cosScale: number,
  like: Tensor,
): { cos: Tensor; sin: Tensor } {
  const half = hd / 2;
  const c = new Float64Array(T * half);
  const s = new Float64Array(T * half);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const angle = (startPos + t) * base ** ((-2 * i) / hd);
      c[t * half + i] = Math.cos(angle) * cosScale;
      s[t * half + i] = Math.sin(angle) * sinScale;
    }
  }
  return {
    cos: tensor(c, [T, half], { backend: like.backend }),
    sin: tensor(s, [T, half], { backend: like.backend }),
  };
}
