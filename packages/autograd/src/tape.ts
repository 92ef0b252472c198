import { autogradHooks, type Tensor, TensorError } from '@tinyformer/tensor';
import { RULES } from './rules/index.js';

/** One recorded op: its inputs, its output and how to push a gradient back through it. */
export interface GraphNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly attrs: Record<string, unknown>;
  readonly backward: BackwardFn;
  /**
   * Set on an op with several outputs (defineMultiOp): every output's `node` is this one node, `output` is the
   * first of them, and backward runs once, through `multiBackward`, with one gradient per output (null where an
   * output got none) instead of through `backward`.
   */
  readonly outputs?: readonly Tensor[];
  readonly multiBackward?: MultiBackwardFn;
}

/** Returns one gradient per input (null for inputs that get none), each already shaped like its input. */
export type BackwardFn = (grad: Tensor, node: GraphNode) => readonly (Tensor | null)[];

/** The backward of a multi-output node: one gradient (or null) per output in, one per input out. */
export type MultiBackwardFn = (grads: readonly (Tensor | null)[], node: GraphNode) => readonly (Tensor | null)[];

/** Ops whose outputs carry no gradient (comparisons, derivative helpers). */
const NON_DIFFERENTIABLE = new Set(['eq', 'gt', 'geluGrad', 'siluGrad', 'step']);

export function attachNode(
  op: string,
  inputs: readonly Tensor[],
  output: Tensor,
  attrs: Record<string, unknown>,
  backward: BackwardFn,
): void {
  output.requiresGrad = true;
  output.node = { op, inputs, output, attrs, backward } satisfies GraphNode;
}

/** Installed once, when this package is first imported: every tensor op with a grad-requiring input reports here. */
autogradHooks.record = (op, inputs, output, attrs) => {
  if (NON_DIFFERENTIABLE.has(op)) return;
  const rule = RULES[op];
  if (!rule) throw new TensorError(op, `op '${op}' has no backward rule, but one of its inputs requires grad`);
  attachNode(op, inputs, output, attrs, rule);
};

/** Records one node for an op with several outputs (see GraphNode.outputs). */
export function attachMultiNode(
  op: string,
  inputs: readonly Tensor[],
  outputs: readonly Tensor[],
  attrs: Record<string, unknown>,
  multiBackward: MultiBackwardFn,
): void {
  const node: GraphNode = {
    op,
    inputs,
    output: outputs[0]!,
    outputs,
    attrs,
    backward: () => {
      throw new TensorError(op, 'a multi-output node runs through multiBackward');
    },
    multiBackward,
  };
  for (const o of outputs) {
    o.requiresGrad = true;
    o.node = node;
  }
}

export function nodeOf(t: Tensor): GraphNode | null {
  return (t.node as GraphNode | null) ?? null;
}

/** Runs fn without recording ops (inference, optimizer updates, backward rules). */
export function noGrad<T>(fn: () => T): T {
  const prev = autogradHooks.enabled;
  autogradHooks.enabled = false;
  try {
    return fn();
  } finally {
    autogradHooks.enabled = prev;
  }
}

export function isGradEnabled(): boolean {
  return autogradHooks.enabled;
}
