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
  matmul: { transA: boolean; transB: boolean };
  reshape: { from: readonly number[] };
  permute: { perm: readonly number[] };
  slice: { begin: readonly number[]; inShape: readonly number[] };
  pad: { begin: readonly number[] };
  concat: { axis: number; sizes: readonly number[] };
  gather: NoAttrs;
  scatterAdd: { vocab: number };
}

export type PrimitiveName = keyof PrimitiveAttrs;
