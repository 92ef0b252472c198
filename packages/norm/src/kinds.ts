import { TensorError } from '@tinyformer/tensor';
import { Identity, LayerNorm, type NormLayer, RMSNorm } from './layers.js';

/**
 * Norm kinds are a registry: the built-in ones below, plus any a user package adds with `registerNormKind` (see
 * examples/custom-norm). `createNorm`, the model's config validation, the CLI's `--norm` choices and the norm lab
 * all read the list from here, so a new kind needs no change anywhere else.
 */

/** The shared options every kind receives, resolved (each kind uses the ones that apply to it). */
export interface NormOptions {
  /** added under the square root (RMSNorm, LayerNorm) */
  eps: number;
  /** learned parameters (scale, and shift where the kind has one) */
  affine: boolean;
  /** LayerNorm's learned shift (with affine) */
  bias: boolean;
}

/** A built-in kind, or a registered one (`string & {}` keeps editor completion for the built-ins). */
export type NormKind = 'rmsnorm' | 'layernorm' | 'none' | (string & {});

/** Normalization chosen by config; `createNorm` turns it into a layer. */
export type NormConfig = { kind: NormKind } & Partial<NormOptions>;

/** A norm kind: its name, a description, and how to build a layer of it. */
export interface NormKindDefinition {
  /** the name a config uses (`/^[a-z][a-z0-9_-]*$/`) */
  kind: string;
  /** one line for help texts and reports */
  description: string;
  /**
   * builds a layer normalizing the last axis of width `dim`
   *
   * @param dim - Width of the normalized axis.
   * @param options - eps, affine, bias, resolved.
   * @returns A new layer.
   */
  create(dim: number, options: NormOptions): NormLayer;
  /** false for kinds that normalize nothing (`none`): QK-norm refuses them */
  normalizes?: boolean;
}

/** Default eps for both norms (PyTorch LayerNorm's default). */
export const DEFAULT_EPS = 1e-5;

const kinds = new Map<string, NormKindDefinition>();

/**
 * Adds a norm kind (or replaces one of the same name); returns a function that removes it again.
 *
 * @param def - The kind.
 * @returns A function that removes the kind again (restoring one it replaced).
 * @throws {@link @tinyformer/tensor!TensorError} when the kind's name does not match `/^[a-z][a-z0-9_-]*$/`.
 *
 * @example
 * ```ts
 * const unregister = registerNormKind({
 *   kind: 'scalenorm',
 *   description: 'ScaleNorm: g * x / ||x||',
 *   create: (dim, o) => new ScaleNorm(dim, o.eps),
 * });
 * createNorm({ kind: 'scalenorm' }, 64);
 * unregister();
 * ```
 */
export function registerNormKind(def: NormKindDefinition): () => void {
  if (!/^[a-z][a-z0-9_-]*$/.test(def.kind)) {
    throw new TensorError('registerNormKind', `kind ${JSON.stringify(def.kind)} must match /^[a-z][a-z0-9_-]*$/`);
  }
  const before = kinds.get(def.kind);
  kinds.set(def.kind, def);
  return () => {
    if (kinds.get(def.kind) !== def) return;
    if (before) kinds.set(def.kind, before);
    else kinds.delete(def.kind);
  };
}

/**
 * The kinds a config may name now, built-ins first.
 *
 * @returns The registered kinds' names.
 */
export function normKinds(): string[] {
  return [...kinds.keys()];
}

/**
 * The definition of a kind, or undefined.
 *
 * @param kind - A kind's name.
 * @returns Its definition.
 */
export function normKind(kind: string): NormKindDefinition | undefined {
  return kinds.get(kind);
}

/**
 * Builds the norm a config names; an unknown kind is an error that lists the registered ones.
 *
 * @param config - The kind, and eps (default 1e-5), affine (default true), bias (default true).
 * @param dim - Width of the normalized (last) axis.
 * @returns A new layer.
 * @throws {@link @tinyformer/tensor!TensorError} when the kind is not registered, or the kind rejects dim or eps.
 *
 * @example
 * ```ts
 * const norm = createNorm({ kind: 'rmsnorm' }, 64);
 * const y = norm.forward(x); // x: (..., 64) -> y: (..., 64)
 * ```
 */
export function createNorm(config: NormConfig, dim: number): NormLayer {
  const def = kinds.get(config.kind);
  if (!def) {
    throw new TensorError(
      'createNorm',
      `unknown norm kind ${JSON.stringify(config.kind)}; allowed: ${normKinds().join(', ')}`,
    );
  }
  return def.create(dim, {
    eps: config.eps ?? DEFAULT_EPS,
    affine: config.affine ?? true,
    bias: config.bias ?? true,
  });
}

registerNormKind({
  kind: 'rmsnorm',
  description: 'RMSNorm: x / sqrt(mean(x^2) + eps) * g',
  create: (dim, o) => new RMSNorm(dim, o.eps, o.affine),
});
registerNormKind({
  kind: 'layernorm',
  description: 'LayerNorm: (x - mean) / sqrt(var + eps) * g + b',
  create: (dim, o) => new LayerNorm(dim, o.eps, o.affine, o.bias),
});
registerNormKind({
  kind: 'none',
  description: 'no normalization (identity)',
  create: () => new Identity(),
  normalizes: false,
});
