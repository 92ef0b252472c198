import { autogradHooks, type Tensor, TensorError } from '@tinyformer/tensor';
import { type PrimitiveRule, RULES } from './rules/index.js';

/** One recorded op: its inputs, its output and how to push a gradient back through it. */
export interface GraphNode {
  /** the op's name ('add', 'matmul', a registry op's name, ...) */
  readonly op: string;
  /** the op's inputs, in order */
  readonly inputs: readonly Tensor[];
  /** the (first) output */
  readonly output: Tensor;
  /** what the op recorded for its backward (its attributes) */
  readonly attrs: unknown;
  /** pushes the output's gradient back to the inputs */
  readonly backward: BackwardFn;
  /**
   * Set on an op with several outputs (a registry op): every output's `node` is this one node, `output` is the
   * first of them, and backward runs once, through `multiBackward`, with one gradient per output (null where an
   * output got none) instead of through `backward`.
   */
  readonly outputs?: readonly Tensor[];
  /** the backward of a multi-output node (see `outputs`) */
  readonly multiBackward?: MultiBackwardFn;
}

/** Returns one gradient per input (null for inputs that get none), each already shaped like its input. */
export type BackwardFn = (grad: Tensor, node: GraphNode) => readonly (Tensor | null)[];

/** The backward of a multi-output node: one gradient (or null) per output in, one per input out. */
export type MultiBackwardFn = (grads: readonly (Tensor | null)[], node: GraphNode) => readonly (Tensor | null)[];

/**
 * Records `output` as the result of `op` on `inputs`: marks it as requiring grad and sets its graph node.
 *
 * @param op - The op's name.
 * @param inputs - The op's inputs.
 * @param output - The op's output.
 * @param attrs - What backward needs from the forward.
 * @param backward - The op's backward.
 */
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

/**
 * Records one node for an op with several outputs (see GraphNode.outputs).
 *
 * @param op - The op's name.
 * @param inputs - The op's inputs.
 * @param outputs - Every output; each gets the same node.
 * @param attrs - What backward needs from the forward.
 * @param multiBackward - One gradient per output in, one per input out.
 */
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

/**
 * The graph node that produced `t`.
 *
 * @param t - A tensor.
 * @returns Its node, or null for a leaf or a tensor made without grad.
 */
export function nodeOf(t: Tensor): GraphNode | null {
  return (t.node as GraphNode | null) ?? null;
}

/**
 * Runs fn without recording ops (inference, optimizer updates, backward rules).
 *
 * @param fn - The work to run.
 * @returns What fn returns.
 *
 * @example
 * ```ts
 * const logits = noGrad(() => model.forward(ids)); // no graph is recorded
 * ```
 */
export function noGrad<T>(fn: () => T): T {
  const prev = autogradHooks.enabled;
  autogradHooks.enabled = false;
  try {
    return fn();
  } finally {
    autogradHooks.enabled = prev;
  }
}

/**
 * Whether ops are being recorded (false inside noGrad).
 *
 * @returns True when recording.
 */
export function isGradEnabled(): boolean {
  return autogradHooks.enabled;
}
