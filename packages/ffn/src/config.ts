/** The FFN kinds, once: the type, createFfn, the model config's validation and the CLI's choices read this list. */
export const FFN_KINDS = ['swiglu', 'gelu'] as const;

/** A feed-forward kind: `'swiglu'` (gated, three matrices) or `'gelu'` (GPT-2's two-matrix MLP). */
export type FfnKind = (typeof FFN_KINDS)[number];

/** Which feed-forward block a layer uses, and its width. */
export interface FfnConfig {
  /** the block's kind */
  kind: FfnKind;
  /** hidden width; default 4*dModel for gelu and the parameter-matched 8/3*dModel (rounded up to 8) for swiglu */
  hiddenDim?: number;
  /** add biases to the linear layers; default: the `init.bias` given to createFfn (off when neither is set) */
  bias?: boolean;
}

/**
 * The default hidden width of a feed-forward kind. SwiGLU has three matrices instead of two, so 2/3 of 4*d keeps
 * the parameter count of the GELU MLP.
 *
 * @param kind - The feed-forward kind.
 * @param dModel - The model width.
 * @returns 4*dModel for gelu; 8/3*dModel rounded up to a multiple of 8 for swiglu.
 */
export function defaultHiddenDim(kind: FfnKind, dModel: number): number {
  if (kind === 'gelu') return 4 * dModel;
  return Math.ceil((8 * dModel) / 3 / 8) * 8;
}
