import type { UnaryOp } from '../backend.js';
import { UNARY_OPS } from '../unary-ops.js';
import { WASM_UNARY_OPS } from './wasm/kernels.gen.js';

/** the wasm module's code for each op it has a kernel for: the op's index in the one table of unary ops */
const CODE = new Map<string, number>(WASM_UNARY_OPS.map((op) => [op, UNARY_OPS.indexOf(op)]));

/**
 * Unary ops that keep the TS kernel even in the arena: exp and rsqrt, whose JS results are correctly rounded (the
 * SIMD ones are within 1-2 ulp) and which users compare exactly; neither is on a training step's hot path (softmax
 * and cross-entropy have their own kernels). The other SIMD unary ops give the JS results bit for bit (neg, square,
 * sqrt, reciprocal, abs, relu, step) or are approximations anyway (the activations).
 */
const KEEP_EXACT = new Set<UnaryOp>(['exp', 'rsqrt']);

/** True for the ops whose TS kernel (correctly rounded) always runs. */
export function keepsExact(op: UnaryOp): boolean {
  return KEEP_EXACT.has(op);
}

/** The wasm kernel module's code for a unary op, or undefined where the TS kernel runs. */
export function wasmUnaryCode(op: UnaryOp): number | undefined {
  return KEEP_EXACT.has(op) ? undefined : CODE.get(op);
}
