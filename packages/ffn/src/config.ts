/** The FFN kinds, once: the type, createFfn, the model config's validation and the CLI's choices read this list. */
export const FFN_KINDS = ['swiglu', 'gelu'] as const;

export type FfnKind = (typeof FFN_KINDS)[number];

export interface FfnConfig {
  kind: FfnKind;
  /** hidden width; default 4*dModel for gelu and the parameter-matched 8/3*dModel (rounded up to 8) for swiglu */
  hiddenDim?: number;
  bias?: boolean;
}

/** SwiGLU has three matrices instead of two, so 2/3 of 4*d keeps the parameter count of the GELU MLP. */
export function defaultHiddenDim(kind: FfnKind, dModel: number): number {
  if (kind === 'gelu') return 4 * dModel;
  return Math.ceil((8 * dModel) / 3 / 8) * 8;
}
