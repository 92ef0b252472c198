import type { Backend, Storage } from '../backend.js';
import { autogradHooks, tidy } from '../engine.js';
import { TensorError } from '../errors.js';
import { backendOf, wrap } from '../ops/internal.js';
import type { Shape } from '../shape.js';
import type { Tensor } from '../tensor.js';

/**
 * The op registry (after tfjs-core's registerKernel/registerGradient, in our own small way). An op is defined once
 * with `defineOp`: its name, typed attributes, its output shapes, a composite in terms of other ops (so it runs on
 * every backend), and its backward rule. A backend package, or the package that owns the op, adds a kernel for one
 * backend class with `registerKernel`. `Op.apply` is the one dispatcher: it checks the inputs, picks the kernel or
 * the composite, wraps the storages, and records one node on the autograd tape.
 */

/** What forward keeps for backward, and what backward reads. */
export interface OpContext<A> {
  /** the op's inputs */
  readonly inputs: readonly Tensor[];
  /** the op's outputs */
  readonly outputs: readonly Tensor[];
  /** the op's attributes */
  readonly attrs: A;
  /** the tensors forward saved (a norm's per-row statistics) */
  readonly saved: readonly Tensor[];
}

/**
 * One gradient per input (shaped like it, or null) from one gradient per output (null for an output that got none:
 * unused, or cut from the loss). Runs with recording off.
 */
export type BackwardRule<A> = (grads: readonly (Tensor | null)[], ctx: OpContext<A>) => readonly (Tensor | null)[];

/** The shapes forward will produce: its outputs and the tensors it saves for backward. */
export interface OpShapes {
  /** one shape per output */
  outputs: readonly Shape[];
  /** one shape per saved tensor (none by default) */
  saved?: readonly Shape[];
}

/** One input of a conformance case: a shape, filled with random values (`ints`: integers in [0, ints)). */
export interface CaseInput {
  /** the input's shape */
  shape: Shape;
  /** fill with integers in [0, ints) (ids) instead of floats */
  ints?: number;
  /** values drawn from [min, max) instead of the default [-1, 1) */
  range?: readonly [number, number];
}

/** A case the conformance suite runs through every kernel of the op against the composite on the CPU. */
export interface OpCase<A> {
  /** the op's inputs */
  inputs: readonly CaseInput[];
  /** the op's attributes for the case */
  attrs: A;
  /** inputs that get no gradient (integer ids) */
  noGrad?: readonly number[];
}

/** What defineOp needs to know of an op: its name, shapes, composite, backward rule and conformance cases. */
export interface OpSpec<A> {
  /** unique across the process: kernels and error messages refer to it */
  name: string;
  /**
   * Validates the inputs and attributes (throw a ShapeError/TensorError that names the op and what is wrong) and
   * returns the output shapes, and the shapes of what forward saves.
   *
   * @param inputs - The op's inputs.
   * @param attrs - Its attributes.
   * @returns The shapes of the outputs and of what forward saves.
   */
  shapes(inputs: readonly Tensor[], attrs: A): OpShapes;
  /**
   * forward from other ops, for backends without a kernel; runs with recording off, intermediates are freed
   *
   * @param inputs - The op's inputs.
   * @param attrs - Its attributes.
   * @returns The outputs, and the tensors saved for backward.
   */
  composite(inputs: readonly Tensor[], attrs: A): { outputs: Tensor[]; saved?: Tensor[] };
  /** the backward rule, or 'none' for ops whose outputs carry no gradient (a backward op, a comparison) */
  backward: BackwardRule<A> | 'none';
  /** conformance cases: every registered kernel is checked against the composite on them */
  cases?: readonly OpCase<A>[];
}

/** A kernel's result: output storages (the dispatcher wraps them in the shapes of `OpSpec.shapes`). */
export interface KernelResult {
  /** one storage per output */
  outputs: Storage[];
  /** one storage per saved tensor */
  saved?: Storage[];
}

/**
 * A kernel for one backend class: storages out for tensors in, or null to decline (an unsupported layout), in which
 * case the composite runs. The inputs are checked by `OpSpec.shapes` before the kernel is called.
 */
export type Kernel<A, B extends Backend> = (backend: B, inputs: readonly Tensor[], attrs: A) => KernelResult | null;

/** a backend class (any constructor, private ones included): kernels match its instances with instanceof */
// biome-ignore lint/complexity/noBannedTypes: instanceof needs a constructor function, whatever its signature
type BackendClass<B extends Backend> = Function & { prototype: B };

interface KernelEntry<A> {
  backendClass: BackendClass<Backend>;
  kernel: Kernel<A, Backend>;
}

/** The autograd package listens here (see engine.ts); tensor itself does not know the tape. */
export interface RecordedOp {
  /** the op's name */
  readonly name: string;
  /** the op's backward rule */
  readonly backward: BackwardRule<never> | 'none';
}

/** A defined op. Call `apply` (or the typed wrapper its package exports). */
export class Op<A> implements RecordedOp {
  /** the op's name */
  readonly name: string;
  /** the op's backward rule, or 'none' */
  readonly backward: BackwardRule<A> | 'none';
  private readonly kernels: KernelEntry<A>[] = [];

  /**
   * Use defineOp, which also lists the op for the conformance suite.
   *
   * @param spec - The op's definition.
   */
  constructor(
    /** the op's definition */
    readonly spec: OpSpec<A>,
  ) {
    this.name = spec.name;
    this.backward = spec.backward;
  }

  /**
   * Registers (or replaces) the kernel for instances of `backendClass`; returns a function that unregisters it.
   *
   * @param backendClass - The backend class; the kernel runs for its instances.
   * @param kernel - The kernel.
   * @returns A function that unregisters it.
   */
  register<B extends Backend>(backendClass: BackendClass<B>, kernel: Kernel<A, B>): () => void {
    const entry: KernelEntry<A> = { backendClass, kernel: kernel as Kernel<A, Backend> };
    const at = this.kernels.findIndex((k) => k.backendClass === backendClass);
    if (at >= 0) this.kernels[at] = entry;
    else this.kernels.push(entry);
    return () => {
      const i = this.kernels.indexOf(entry);
      if (i >= 0) this.kernels.splice(i, 1);
    };
  }

  /**
   * The kernel this backend would run, or null (composite). Honours the backend's `kernelEnabled`.
   *
   * @param backend - A backend.
   * @returns The kernel, or null.
   */
  kernelFor(backend: Backend): Kernel<A, Backend> | null {
    if (backend.kernelEnabled && !backend.kernelEnabled(this.name)) return null;
    for (const k of this.kernels) if (backend instanceof k.backendClass) return k.kernel;
    return null;
  }

  /**
   * Runs the op: kernel or composite, wrapped, recorded. Returns every output.
   *
   * @param inputs - The op's inputs (all on one backend).
   * @param attrs - Its attributes.
   * @returns Every output.
   * @throws {@link ShapeError} or {@link TensorError} from the op's shape check, or when inputs live on different backends.
   */
  apply(inputs: readonly Tensor[], attrs: A): Tensor[] {
    return this.record(inputs, attrs, this.forward(inputs, attrs));
  }

  /**
   * The composite path even where a kernel exists (tests compare the two; benchmarks measure what a kernel buys).
   *
   * @param inputs - The op's inputs.
   * @param attrs - Its attributes.
   * @returns Every output.
   */
  applyComposite(inputs: readonly Tensor[], attrs: A): Tensor[] {
    return this.record(inputs, attrs, this.forward(inputs, attrs, { composite: true }));
  }

  /**
   * Forward without recording: the outputs and what backward would read (the conformance suite runs backward
   * rules on it). Checks the inputs, then runs the kernel, or the composite where there is none, it declines, or
   * `composite` is set.
   *
   * @param inputs - The op's inputs.
   * @param attrs - Its attributes.
   * @param opts - composite: take the composite even where a kernel exists.
   * @returns The outputs and the saved tensors.
   */
  forward(
    inputs: readonly Tensor[],
    attrs: A,
    opts: { composite?: boolean } = {},
  ): { outputs: Tensor[]; saved: Tensor[] } {
    const backend = backendOf(this.name, ...inputs);
    const shapes = this.spec.shapes(inputs, attrs);
    const kernel = opts.composite ? null : this.kernelFor(backend);
    const r = kernel ? kernel(backend, inputs, attrs) : null;
    if (r) {
      return {
        outputs: this.wrapAll(backend, r.outputs, shapes.outputs, 'outputs'),
        saved: this.wrapAll(backend, r.saved ?? [], shapes.saved ?? [], 'saved tensors'),
      };
    }
    const prev = autogradHooks.enabled;
    autogradHooks.enabled = false;
    try {
      const c = tidy(() => this.spec.composite(inputs, attrs));
      return { outputs: c.outputs, saved: c.saved ?? [] };
    } finally {
      autogradHooks.enabled = prev;
    }
  }

  private record(inputs: readonly Tensor[], attrs: A, r: { outputs: Tensor[]; saved: Tensor[] }): Tensor[] {
    const hook = autogradHooks.recordOp;
    if (this.backward !== 'none' && hook && autogradHooks.enabled && inputs.some((t) => t.requiresGrad)) {
      hook(this as RecordedOp, inputs, r.outputs, attrs, r.saved);
    } else {
      // nothing will read the saved tensors
      for (const t of r.saved) if (!r.outputs.includes(t) && !inputs.includes(t)) t.dispose();
    }
    return r.outputs;
  }

  private wrapAll(backend: Backend, storages: Storage[], shapes: readonly Shape[], what: string): Tensor[] {
    if (storages.length !== shapes.length) {
      for (const s of storages) backend.dispose(s);
      throw new TensorError(
        this.name,
        `the '${backend.name}' kernel returned ${storages.length} ${what}, the op declares ${shapes.length}`,
      );
    }
    return storages.map((s, i) => wrap(backend, s, shapes[i]!));
  }
}

/** every op defined in this process, in definition order */
const ops: Op<never>[] = [];

/**
 * Defines an op once. Every package defines its own (tensor: softmax, cross-entropy; norm: rmsnorm, layernorm;
 * attention: rope, head split/merge; ffn: swiglu), and so can a user package: see examples/custom-norm. Names
 * should be unique (they appear in errors, kernel switches and the conformance report); a second definition of
 * one name is a separate op, not a replacement.
 *
 * @param spec - The op: name, shapes, composite, backward rule, conformance cases.
 * @returns The op; call `op.apply(inputs, attrs)`.
 *
 * @example
 * ```ts
 * const squareOp = defineOp<null>({
 *   name: 'mySquare',
 *   shapes: ([x]) => ({ outputs: [x!.shape] }),
 *   composite: ([x]) => ({ outputs: [mul(x!, x!)] }),
 *   backward: ([g], { inputs: [x] }) => [mul(mul(g!, x!), 2)],
 * });
 * const y = squareOp.apply([tensor([1, 2, 3])], null)[0]!; // [1, 4, 9]
 * ```
 */
export function defineOp<A>(spec: OpSpec<A>): Op<A> {
  const op = new Op(spec);
  ops.push(op as unknown as Op<never>);
  return op;
}

/**
 * Adds a kernel for an op on one backend class (`registerKernel(rmsnormOp, CpuBackend, fn)`).
 *
 * @param op - The op.
 * @param backendClass - The backend class; the kernel runs for its instances.
 * @param kernel - Storages out for tensors in, or null to decline (the composite runs).
 * @returns A function that unregisters the kernel.
 *
 * @example
 * ```ts
 * registerKernel(squareOp, CpuBackend, (backend, [x]) => ({
 *   outputs: [backend.binary('mul', x!.storage, x!.shape, x!.storage, x!.shape, x!.shape)],
 * }));
 * ```
 */
export function registerKernel<A, B extends Backend>(
  op: Op<A>,
  backendClass: BackendClass<B>,
  kernel: Kernel<A, B>,
): () => void {
  return op.register(backendClass, kernel);
}

/**
 * Every op defined so far in this process: the conformance suite walks them.
 *
 * @returns The ops, in definition order.
 */
export function registeredOps(): readonly Op<unknown>[] {
  return [...ops] as unknown as Op<unknown>[];
}
