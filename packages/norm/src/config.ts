/** Normalization chosen by config; `createNorm` turns it into a layer. */
export type NormConfig =
  | { kind: 'rmsnorm'; eps?: number; affine?: boolean }
  | { kind: 'layernorm'; eps?: number; affine?: boolean; bias?: boolean }
  | { kind: 'none' };

export type NormKind = NormConfig['kind'];

export const NORM_KINDS: readonly NormKind[] = ['rmsnorm', 'layernorm', 'none'];

/** Default eps for both norms (PyTorch LayerNorm's default). */
export const DEFAULT_EPS = 1e-5;
