import { defineOp } from '@tinyformer/autograd';
import { concat, formatShape, split, type Tensor, TensorError, tensor, tidy, wrap } from '@tinyformer/tensor';

/**
 * Rotary position embedding (Su et al. 2021), "rotate half" layout (GPT-NeoX / Llama): the head dim is split into
 * halves (x1, x2) and each pair is rotated by angle pos * base^(-2i/hd). `scale` multiplies the result (attention
 * folds its 1/sqrt(hd) into the queries here, saving a pass over them).
 *
 * One differentiable op: the backend's fused `rope` kernel where it has one, else a composite of primitives
 * (split, four products with cos/sin tables, concat). Either way the backward is the inverse rotation (a rotation's
 * Jacobian is its transpose), times the same scale.
 */
export function applyRope(x: Tensor, startPos: number, base = 10000, scale = 1): Tensor {
  // x: (..., T, hd)
  const hd = x.shape[x.rank - 1]!;
  if (x.rank < 2 || hd % 2 !== 0) {
    throw new TensorError('rope', `head dim must be even, got ${hd} in ${formatShape(x.shape)}`);
  }
  return ropeOp([x], { startPos, base, scale });
}

interface RopeAttrs {
  startPos: number;
  base: number;
  scale: number;
}

const ropeOp = defineOp<RopeAttrs>({
  name: 'rope',
  forward(inputs, attrs) {
    return { output: rotate(inputs[0]!, attrs, false) };
  },
  backward(grad, { attrs }) {
    return [rotate(grad, attrs, true)];
  },
});

function rotate(x: Tensor, { startPos, base, scale }: RopeAttrs, inverse: boolean): Tensor {
  const T = x.shape[x.rank - 2]!;
  const hd = x.shape[x.rank - 1]!;
  const k = x.backend.fused.rope;
  if (k) {
    const rows = T * hd === 0 ? 0 : x.size / (T * hd);
    return wrap(x.backend, k(x.storage, { rows, seq: T, headDim: hd, startPos, base, inverse, scale }), x.shape);
  }
  return tidy(() => ropeComposite(x, startPos, base, scale, inverse));
}

/** The composite of primitives (every backend has these); `inverse` rotates by minus the angle. */
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
