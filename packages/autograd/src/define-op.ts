import { autogradHooks, type Tensor } from '@tinyformer/tensor';
import { attachMultiNode, attachNode, noGrad } from './tape.js';

export interface OpContext<A> {
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly attrs: A;
  /** the tensors forward chose to save (e.g. a norm's mean and rstd) */
  readonly saved: readonly Tensor[];
}

export interface OpSpec<A> {
  name: string;
  /** computes the output (without recording) and returns what backward needs */
  forward(inputs: readonly Tensor[], attrs: A): { output: Tensor; saved?: Tensor[] };
  /** one gradient per input, shaped like it, or null */
  backward(grad: Tensor, ctx: OpContext<A>): readonly (Tensor | null)[];
}

/**
 * A custom differentiable op, like torch.autograd.Function: forward runs as one unit (typically a fused kernel)
 * and backward is the hand-written rule. Layer packages use this for fused norms.
 */
export function defineOp<A>(spec: OpSpec<A>): (inputs: readonly Tensor[], attrs: A) => Tensor {
  return (inputs, attrs) => {
    const track = autogradHooks.enabled && inputs.some((t) => t.requiresGrad);
    const { output, saved = [] } = noGrad(() => spec.forward(inputs, attrs));
    if (track) {
      attachNode(spec.name, inputs, output, { attrs, saved }, (g, node) =>
        spec.backward(g, { inputs: node.inputs, output: node.output, attrs, saved }),
      );
    }
    return output;
  };
}

export interface MultiOpContext<A> {
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly Tensor[];
  readonly attrs: A;
  readonly saved: readonly Tensor[];
}

export interface MultiOpSpec<A> {
  name: string;
  /** computes the outputs (without recording) and returns what backward needs */
  forward(inputs: readonly Tensor[], attrs: A): { outputs: Tensor[]; saved?: Tensor[] };
  /**
   * One gradient per input (shaped like it, or null), from one gradient per output: null for an output that
   * got none (unused, or cut from the loss).
   */
  backward(grads: readonly (Tensor | null)[], ctx: MultiOpContext<A>): readonly (Tensor | null)[];
}

/**
 * defineOp for ops with several outputs (attention's QKV split into heads): one graph node for all of them, so
 * backward runs once with every output's gradient instead of once per output with zero-padded gradients.
 */
export function defineMultiOp<A>(spec: MultiOpSpec<A>): (inputs: readonly Tensor[], attrs: A) => Tensor[] {
  return (inputs, attrs) => {
    const track = autogradHooks.enabled && inputs.some((t) => t.requiresGrad);
    const { outputs, saved = [] } = noGrad(() => spec.forward(inputs, attrs));
    if (track) {
      attachMultiNode(spec.name, inputs, outputs, { attrs, saved }, (gs, node) =>
        spec.backward(gs, { inputs: node.inputs, outputs: node.outputs ?? [node.output], attrs, saved }),
      );
    }
    return outputs;
  };
}
