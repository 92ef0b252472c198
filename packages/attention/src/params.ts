/**
 * Attention's head layout. The packed side is [batch, seq, parts * heads * headDim] (a fused QKV projection has
 * parts = 3: all of q, then all of k, then all of v in each row); the split side is `parts` tensors
 * [batch, heads, seq, headDim].
 */
export interface HeadsParams {
  /** batch size B */
  batch: number;
  /** sequence length T */
  seq: number;
  /** number of heads */
  heads: number;
  /** width of one head */
  headDim: number;
  /** tensors packed side by side in each row (3 for a fused QKV) */
  parts: number;
}

/**
 * What a RoPE kernel computes on x [rows, seq, headDim] (rows = batch * heads), "rotate half" layout: the pair
 * (x[i], x[i + headDim/2]) at position startPos + t is rotated by the angle (startPos + t) * base^(-2i/headDim).
 */
export interface RopeParams {
  /** batch * heads */
  rows: number;
  /** sequence length T */
  seq: number;
  /** width of one head (even) */
  headDim: number;
  /** position of the first row of each sequence */
  startPos: number;
  /** the angle base (10000 in most models) */
  base: number;
  /** rotate by minus the angle: RoPE's backward, since the Jacobian of a rotation is its inverse */
  inverse: boolean;
  /** multiplies the result (attention folds 1/sqrt(headDim) into the queries' rotation); default 1 */
  scale?: number;
}

/** The rope op's attributes: positions start at startPos; `scale` multiplies the result. */
export interface RopeAttrs {
  /** position of the first token */
  startPos: number;
  /** the angle base */
  base: number;
  /** multiplies the result */
  scale: number;
  /** rotate by minus the angle: RoPE's backward, since the Jacobian of a rotation is its inverse */
  inverse: boolean;
}
