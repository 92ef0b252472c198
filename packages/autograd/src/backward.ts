import { add, formatShape, ones, sameShape, type Tensor, TensorError } from '@tinyformer/tensor';
import { type GraphNode, nodeOf, noGrad } from './tape.js';

/** Options of backward(). */
export interface BackwardOptions {
  /** keep the graph so backward can run again through it (default false: the tape is released) */
  retainGraph?: boolean;
}

/** Outputs whose graph node a backward() released; reaching one again is an error (PyTorch's "backward twice"). */
const released = new WeakSet<Tensor>();

/**
 * Reverse-mode sweep from `root` (a scalar unless `grad` is given). Gradients of values used twice are summed;
 * leaf tensors that require grad (parameters) get `.grad` accumulated (+=), so several backward calls before
 * zeroGrad implement gradient accumulation. Afterwards the tape is released. Intermediate gradients are ordinary
 * tensors: run the step inside tidy() to free them.
 *
 * @param root - The value to differentiate: a one-element tensor, or any tensor when `grad` is given.
 * @param grad - The gradient of root (same shape); default 1 for a scalar root.
 * @param opts - Keep the graph for another backward (retainGraph).
 * @throws {@link @tinyformer/tensor!TensorError} when root does not require grad, is not a scalar and no grad is given, grad's shape differs,
 *   or the graph was already released by an earlier backward.
 *
 * @example
 * ```ts
 * const w = new Parameter(randn([3]), 'w');
 * const loss = w.mul(w).sum();
 * backward(loss);
 * w.grad?.dataSync(); // 2 * w
 * ```
 */
export function backward(root: Tensor, grad?: Tensor, opts: BackwardOptions = {}): void {
  sweep(root, grad, opts, null);
}

/** backward(), setting `.grad` only on the leaves in `only` (all leaves when null). */
function sweep(root: Tensor, grad: Tensor | undefined, opts: BackwardOptions, only: ReadonlySet<Tensor> | null): void {
  if (!root.requiresGrad) {
    throw new TensorError(
      'backward',
      `tensor ${root.describe()} does not require grad (no parameter or grad-requiring input reached it)`,
    );
  }
  if (!grad && root.size !== 1) {
    throw new TensorError('backward', `root ${root.describe()} is not a scalar: pass the output gradient explicitly`);
  }
  if (grad && !sameShape(grad.shape, root.shape)) {
    throw new TensorError(
      'backward',
      `gradient ${formatShape(grad.shape)} does not match root ${formatShape(root.shape)}`,
    );
  }
  const order = topoOrder(root);
  noGrad(() => {
    const grads = new Map<Tensor, Tensor>();
    grads.set(root, grad ?? ones(root.shape, { backend: root.backend }));
    for (let i = order.length - 1; i >= 0; i--) {
      const node = order[i]!;
      let inGrads: readonly (Tensor | null)[];
      if (node.outputs && node.multiBackward) {
        // one node for several outputs: a gradient (or null) per output, one backward call
        let any = false;
        const gs = node.outputs.map((o) => {
          const g = grads.get(o) ?? null;
          if (g) {
            any = true;
            grads.delete(o);
          }
          return g;
        });
        if (!any) continue;
        inGrads = node.multiBackward(gs, node);
      } else {
        const g = grads.get(node.output);
        if (!g) continue;
        grads.delete(node.output);
        inGrads = node.backward(g, node);
      }
      node.inputs.forEach((inp, k) => {
        const gi = inGrads[k];
        if (!gi || !inp.requiresGrad) return;
        if (!sameShape(gi.shape, inp.shape)) {
          throw new TensorError(
            'backward',
            `rule for '${node.op}' gave a gradient ${formatShape(gi.shape)} for input ${k} of shape ${formatShape(inp.shape)}`,
          );
        }
        const prev = grads.get(inp);
        grads.set(inp, prev ? add(prev, gi) : gi);
      });
    }
    // what is left are the leaves' gradients. A rule may hand one tensor to two inputs (add does), and the caller
    // owns `grad`: such a tensor is copied, so each leaf owns its .grad and zeroGrad() frees no other leaf's.
    const assigned = new Set<Tensor>();
    for (const [leaf, g] of grads) {
      if (nodeOf(leaf) || (only && !only.has(leaf))) continue;
      if (leaf.grad) {
        const old = leaf.grad;
        leaf.grad = add(old, g).keep();
        old.dispose();
      } else {
        leaf.grad = (g === grad || assigned.has(g) ? g.mul(1) : g).keep();
      }
      assigned.add(leaf.grad);
    }
  });
  if (!opts.retainGraph) {
    for (const node of order) {
      for (const o of node.outputs ?? [node.output]) {
        o.node = null;
        released.add(o);
      }
    }
  }
}

function releasedError(t: Tensor): TensorError {
  return new TensorError(
    'backward',
    `the graph of ${t.describe()} was released by an earlier backward(); pass { retainGraph: true } to that call to go through it again`,
  );
}

/** Nodes in topological order (inputs before outputs), iteratively so deep graphs do not overflow the stack. */
function topoOrder(root: Tensor): GraphNode[] {
  const order: GraphNode[] = [];
  const seen = new Set<GraphNode>();
  const rootNode = nodeOf(root);
  if (!rootNode && released.has(root)) throw releasedError(root);
  if (!rootNode) return order;
  const stack: { node: GraphNode; next: number }[] = [{ node: rootNode, next: 0 }];
  seen.add(rootNode);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next < top.node.inputs.length) {
      const input = top.node.inputs[top.next++]!;
      const child = nodeOf(input);
      // a released output is not a leaf: the gradient it would get belongs to a graph that is gone
      if (!child && input.requiresGrad && released.has(input)) throw releasedError(input);
      if (child && !seen.has(child)) {
        seen.add(child);
        stack.push({ node: child, next: 0 });
      }
    } else {
      order.push(top.node);
      stack.pop();
    }
  }
  return order;
}

/**
 * Gradients of fn's output (summed) with respect to `inputs`, without touching `.grad` of the inputs or of any
 * parameter fn uses (for tests and analysis, also in the middle of gradient accumulation).
 *
 * @param fn - Computes the output from the inputs (a non-scalar output is summed).
 * @param inputs - The tensors to differentiate with respect to.
 * @returns One gradient per input, shaped like it (zeros where the output does not depend on it).
 *
 * @example
 * ```ts
 * const x = tensor([1, 2, 3]);
 * const [dx] = grad(() => x.mul(x).sum(), [x]); // [2, 4, 6]
 * ```
 */
export function grad(fn: () => Tensor, inputs: readonly Tensor[]): Tensor[] {
  const saved = inputs.map((t) => t.grad);
  const flags = inputs.map((t) => t.requiresGrad);
  for (const t of inputs) {
    t.grad = null;
    t.requiresGrad = true;
  }
  try {
    const out = fn();
    const root = out.size === 1 ? out : out.sum();
    sweep(root, undefined, {}, new Set(inputs));
    return noGrad(() => inputs.map((t) => t.grad ?? t.mul(0)));
  } finally {
    inputs.forEach((t, i) => {
      t.grad = saved[i]!;
      t.requiresGrad = flags[i]!;
    });
  }
}
