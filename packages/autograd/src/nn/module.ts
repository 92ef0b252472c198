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
   */
  protected addParameter(name: string, init: Tensor): Parameter {
    const p = new Parameter(init, name);
    init.dispose();
    this.ownParams.set(name, p);
    return p;
  }

  protected addModule<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  /** [path, parameter] pairs in registration order. */
  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    for (const [n, p] of this.ownParams) out.push([prefix + n, p]);
    for (const [n, m] of this.children) out.push(...m.namedParameters(`${prefix}${n}.`));
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Total number of scalar parameters. */
  parameterCount(): number {
    let n = 0;
    for (const p of this.parameters()) n += p.size;
    return n;
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }
}
