import type { BinaryOp, ReduceOp, UnaryOp } from '../backend.js';

type NoAttrs = Record<string, never>;

/**
 * The primitive ops that autograd records, with the attributes each one records: the Backend's methods that produce
 * a differentiable value (fill, uploads and AdamW record nothing), plus reshape, a view that needs no method.
 * Everything else is a registry op (defineOp). autograd's rule table is a mapped type over this
 * interface, so a primitive without a backward rule, or a rule that reads an attribute the op does not record, is
 * a compile error.
 */
export interface PrimitiveAttrs extends Record<BinaryOp | UnaryOp, NoAttrs>, Record<ReduceOp, { axis: number }> {
  /** which operands were read transposed */
  matmul: { transA: boolean; transB: boolean };
  /** the input's shape */
  reshape: { from: readonly number[] };
  /** the axis order */
  permute: { perm: readonly number[] };
  /** the box's start and the input's shape */
  slice: { begin: readonly number[]; inShape: readonly number[] };
  /** where the input was placed */
  pad: { begin: readonly number[] };
  /** the axis and each input's length along it */
  concat: { axis: number; sizes: readonly number[] };
  /** nothing recorded */
  gather: NoAttrs;
  /** rows in the output */
  scatterAdd: { vocab: number };
}

/** A primitive op's name. */
export type PrimitiveName = keyof PrimitiveAttrs;
