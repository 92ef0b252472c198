import { autogradHooks, type Tensor } from '@tinyformer/tensor';
import { attachNode, noGrad } from './tape.js';

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
