import { autogradHooks, type Tensor, TensorError } from '@tinyformer/tensor';
import { type PrimitiveRule, RULES } from './rules/index.js';

/** One recorded op: its inputs, its output and how to push a gradient back through it. */
export interface GraphNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly attrs: unknown;
  readonly backward: BackwardFn;
  /**
   * Set on an op with several outputs (a registry op): every output's `node` is this one node, `output` is the
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

export function attachNode(
  op: string,
  inputs: readonly Tensor[],
  output: Tensor,
  attrs: unknown,
  backward: BackwardFn,
): void {
  output.requiresGrad = true;
  output.node = { op, inputs, output, attrs, backward } satisfies GraphNode;
}

/**
 * Installed once, when this package is first imported: every primitive with a grad-requiring input reports here.
 * RULES has an entry for every primitive (a compile-time guarantee), 'none' for those without a gradient.
 */
autogradHooks.record = (op, inputs, output, attrs) => {
  const rule = RULES[op] as PrimitiveRule<typeof op> | 'none';
  if (rule === 'none') return;
  attachNode(op, inputs, output, attrs, rule as unknown as BackwardFn);
};

/** Every registry op (defineOp) reports here: one node for all its outputs, backward from its definition. */
autogradHooks.recordOp = (op, inputs, outputs, attrs, saved) => {
  const rule = op.backward;
  if (rule === 'none') return;
  const ctx = { inputs, outputs, attrs: attrs as never, saved };
  if (outputs.length === 1) {
    attachNode(op.name, inputs, outputs[0]!, { attrs, saved }, (g) => rule([g], ctx));
  } else {
    attachMultiNode(op.name, inputs, outputs, { attrs, saved }, (gs) => rule(gs, ctx));
  }
};

/** Records one node for an op with several outputs (see GraphNode.outputs). */
export function attachMultiNode(
  op: string,
  inputs: readonly Tensor[],
  outputs: readonly Tensor[],
  attrs: unknown,
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
