/**
 * Attention's head layout. The packed side is [batch, seq, parts * heads * headDim] (a fused QKV projection has
 * parts = 3: all of q, then all of k, then all of v in each row); the split side is `parts` tensors
 * [batch, heads, seq, headDim].
 */
export interface HeadsParams {
  batch: number;
  seq: number;
  heads: number;
  headDim: number;
  parts: number;
}

/**
 * What a RoPE kernel computes on x [rows, seq, headDim] (rows = batch * heads), "rotate half" layout: the pair
 * (x[i], x[i + headDim/2]) at position startPos + t is rotated by the angle (startPos + t) * base^(-2i/headDim).
 */
export interface RopeParams {
  rows: number;
  seq: number;
  headDim: number;
  startPos: number;
  base: number;
  /** rotate by minus the angle: RoPE's backward, since the Jacobian of a rotation is its inverse */
  inverse: boolean;
  /** multiplies the result (attention folds 1/sqrt(headDim) into the queries' rotation); default 1 */
  scale?: number;
}

/** The rope op's attributes: positions start at startPos; `scale` multiplies the result. */
export interface RopeAttrs {
  startPos: number;
  base: number;
  scale: number;
  /** rotate by minus the angle: RoPE's backward, since the Jacobian of a rotation is its inverse */
  inverse: boolean;
}
