import { concat, formatShape, split, type Tensor, TensorError, tensor } from '@tinyformer/tensor';

/**
 * Rotary position embedding (Su et al. 2021), "rotate half" layout (GPT-NeoX / Llama): the head dim is split into
 * halves (x1, x2) and each pair is rotated by angle pos * base^(-2i/hd). Built from primitive ops, so its
 * gradient is automatic; the cos/sin tables are constants.
 */
export function applyRope(x: Tensor, startPos: number, base = 10000): Tensor {
  // x: (B, H, T, hd)
  const T = x.shape[x.rank - 2]!;
  const hd = x.shape[x.rank - 1]!;
  if (hd % 2 !== 0) throw new TensorError('rope', `head dim must be even, got ${hd} in ${formatShape(x.shape)}`);
  const { cos, sin } = ropeTables(T, hd, startPos, base, x);
  const [x1, x2] = split(x, 2, -1) as [Tensor, Tensor];
  const r1 = x1.mul(cos).sub(x2.mul(sin));
  const r2 = x1.mul(sin).add(x2.mul(cos));
  return concat([r1, r2], -1);
}

function ropeTables(T: number, hd: number, startPos: number, base: number, like: Tensor): { cos: Tensor; sin: Tensor } {
  const half = hd / 2;
  const c = new Float32Array(T * half);
  const s = new Float32Array(T * half);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const angle = (startPos + t) * base ** ((-2 * i) / hd);
      c[t * half + i] = Math.cos(angle);
      s[t * half + i] = Math.sin(angle);
    }
  }
  return {
    cos: tensor(c, [T, half], { backend: like.backend }),
    sin: tensor(s, [T, half], { backend: like.backend }),
  };
}
