import type { PrimitiveAttrs, PrimitiveName, Tensor } from '@tinyformer/tensor';

/** A recorded primitive as its rule sees it: attributes typed by op name. */
export interface PrimitiveNode<K extends PrimitiveName> {
  /** the primitive's name */
  readonly op: K;
  /** the primitive's inputs */
  readonly inputs: readonly Tensor[];
  /** its output */
  readonly output: Tensor;
  /** the attributes it recorded */
  readonly attrs: PrimitiveAttrs[K];
}

/** One gradient per input (null for inputs that get none), each already shaped like its input. */
export type PrimitiveRule<K extends PrimitiveName> = (
  grad: Tensor,
  node: PrimitiveNode<K>,
) => readonly (Tensor | null)[];
