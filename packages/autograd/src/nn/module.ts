import type { Tensor } from '@tinyformer/tensor';
import { Parameter } from '../parameter.js';

/**
 * Base class for layers: registers parameters and child modules under names, so the whole tree's parameters come
 * out with dotted paths ('blocks.0.attn.qkv.weight') for optimizers and checkpoints.
 */
export abstract class Module {
  private readonly ownParams = new Map<string, Parameter>();
  private readonly children = new Map<string, Module>();

  /**
   * Registers a parameter initialized from `init`, which the module takes over: the handle is released here so the
   * parameter alone holds the buffer, and replacing its values (setValues, checkpoint load) frees the old one.
   *
   * @param name - The parameter's name within this module.
   * @param init - The initial values (disposed here).
   * @returns The new parameter.
   */
  protected addParameter(name: string, init: Tensor): Parameter {
    const p = new Parameter(init, name);
    init.dispose();
    this.ownParams.set(name, p);
    return p;
  }

  /**
   * Registers a child module, whose parameters come out under `name.`.
   *
   * @param name - The child's name within this module.
   * @param m - The child.
   * @returns The child, for assignment.
   */
  protected addModule<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  /**
   * [path, parameter] pairs in registration order.
   *
   * @param prefix - Prepended to every path (used for children).
   * @returns Dotted paths and parameters, this module's own first, then each child's.
   */
  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    for (const [n, p] of this.ownParams) out.push([prefix + n, p]);
    for (const [n, m] of this.children) out.push(...m.namedParameters(`${prefix}${n}.`));
    return out;
  }

  /**
   * Every parameter of the tree, in registration order.
   *
   * @returns The parameters.
   */
  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /**
   * Total number of scalar parameters.
   *
   * @returns The sum of the parameters' sizes.
   */
  parameterCount(): number {
    let n = 0;
    for (const p of this.parameters()) n += p.size;
    return n;
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }
}
