import type { Backend, Storage } from './backend.js';
import { track } from './engine.js';
import { TensorError } from './errors.js';
import { formatShape, type Shape, sizeOf } from './shape.js';

/** Element type: float32, or int32 for indices (token ids, targets), stored as exact float32 values. */
export type DType = 'float32' | 'int32';

/** Shared storage: reshape views share one, and the device buffer is freed when the last view is disposed. */
class StorageRef {
  refs = 1;
  constructor(
    readonly backend: Backend,
    readonly storage: Storage,
  ) {}
}

let nextId = 1;

/**
 * A handle to a float32 (or int32-valued) row-major array on a backend. Shapes are known synchronously;
 * values are read with `await t.data()` (every backend) or `t.dataSync()` (synchronous backends only).
 * Tensors are immutable: ops return new tensors. Transpose, permute and slice materialize a copy.
 */
export class Tensor {
  /** brand for duck-typed checks across package copies */
  readonly __isTensor = true;
  /** unique id, in creation order */
  readonly id = nextId++;
  /** the shape (frozen) */
  readonly shape: readonly number[];
  /** number of elements */
  readonly size: number;
  /** the element type */
  readonly dtype: DType;
  /** the backend holding the values */
  readonly backend: Backend;
  private ref: StorageRef;
  private disposed = false;
  /** kept tensors survive tidy() */
  kept = false;
  /** set by @tinyformer/autograd */
  requiresGrad = false;
  /** accumulated gradient, set by backward() */
  grad: Tensor | null = null;
  /** autograd graph node (owned by @tinyformer/autograd) */
  node: unknown = null;
  /** a label used in error messages and checkpoints */
  name: string | undefined;

  /**
   * Wraps a backend storage; ops and creation functions (tensor, zeros, randn...) call this, users rarely do.
   *
   * @param backend - The storage's backend.
   * @param storage - The values (the tensor takes ownership).
   * @param shape - The shape.
   * @param dtype - The element type (default float32).
   * @param shareWith - A tensor whose storage this one shares (a view); storage is then ignored.
   *
   * @example
   * ```ts
   * const x = tensor([[1, 2], [3, 4]]); // float32 (2, 2) on the current backend
   * const y = x.matmul(x).add(1);
   * y.dataSync(); // Float32Array [8, 11, 16, 23]
   * await y.data(); // the same, on every backend
   * ```
   */
  constructor(backend: Backend, storage: Storage, shape: Shape, dtype: DType = 'float32', shareWith?: Tensor) {
    this.backend = backend;
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
    this.dtype = dtype;
    if (shareWith) {
      this.ref = shareWith.ref;
      this.ref.refs++;
    } else {
      this.ref = new StorageRef(backend, storage);
    }
    track(this);
  }

  /** number of axes */
  get rank(): number {
    return this.shape.length;
  }

  /** true after dispose() */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** The backend storage; throws if the tensor was disposed. */
  get storage(): Storage {
    if (this.disposed) throw new TensorError('tensor', `tensor ${this.describe()} was used after dispose()`);
    return this.ref.storage;
  }

  /**
   * The name (if any) and shape, for error messages.
   *
   * @returns For example `'wte.weight' [65,64]`.
   */
  describe(): string {
    return `${this.name ? `'${this.name}' ` : ''}${formatShape(this.shape)}`;
  }

  /**
   * Values as a fresh Float32Array (works on every backend).
   *
   * @returns The values, row-major.
   * @throws {@link TensorError} when the tensor was disposed.
   */
  async data(): Promise<Float32Array> {
    return this.backend.download(this.storage, this.size);
  }

  /**
   * Values as a fresh Float32Array; only on synchronous backends (CPU).
   *
   * @returns The values, row-major.
   * @throws {@link TensorError} when the backend is asynchronous or the tensor was disposed.
   */
  dataSync(): Float32Array {
    const s = this.storage;
    if (!this.backend.downloadSync) {
      throw new TensorError('dataSync', `backend '${this.backend.name}' is asynchronous: use await t.data()`);
    }
    return this.backend.downloadSync(s, this.size);
  }

  /**
   * Values as nested arrays matching the shape.
   *
   * @returns Nested arrays (a number for a scalar).
   */
  async toArray(): Promise<unknown> {
    return nest(await this.data(), this.shape);
  }

  /**
   * Values as nested arrays matching the shape; only on synchronous backends.
   *
   * @returns Nested arrays (a number for a scalar).
   */
  arraySync(): unknown {
    return nest(this.dataSync(), this.shape);
  }

  /**
   * The single value of a one-element tensor.
   *
   * @returns The value.
   * @throws {@link TensorError} when the tensor has more than one element.
   */
  async item(): Promise<number> {
    if (this.size !== 1)
      throw new TensorError('item', `expected a tensor with one element, got ${formatShape(this.shape)}`);
    return (await this.data())[0]!;
  }

  /**
   * The single value of a one-element tensor; only on synchronous backends.
   *
   * @returns The value.
   * @throws {@link TensorError} when the tensor has more than one element or the backend is asynchronous.
   */
  itemSync(): number {
    if (this.size !== 1)
      throw new TensorError('item', `expected a tensor with one element, got ${formatShape(this.shape)}`);
    return this.dataSync()[0]!;
  }

  /** Frees the storage (when no other view shares it). Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.node = null;
    if (--this.ref.refs === 0) this.ref.backend.dispose(this.ref.storage);
  }

  /**
   * Exempts the tensor from the enclosing tidy().
   *
   * @returns This tensor.
   */
  keep(): this {
    this.kept = true;
    return this;
  }

  /**
   * Swaps in new storage (used by optimizers that update parameters in place on devices that cannot).
   *
   * @param storage - The new storage (the tensor takes ownership).
   */
  replaceStorage(storage: Storage): void {
    if (this.ref.storage === storage) return;
    if (--this.ref.refs === 0) this.ref.backend.dispose(this.ref.storage);
    this.ref = new StorageRef(this.backend, storage);
  }

  /**
   * A new tensor sharing this storage under another shape (no copy).
   *
   * @param shape - The new shape (same number of elements).
   * @returns The view.
   */
  view(shape: Shape): Tensor {
    return new Tensor(this.backend, this.storage, shape, this.dtype, this);
  }

  /** @returns For example `Tensor([2,3], float32, cpu)`. */
  toString(): string {
    return `Tensor(${formatShape(this.shape)}, ${this.dtype}, ${this.backend.name})`;
  }
}

function nest(data: Float32Array, shape: readonly number[]): unknown {
  if (shape.length === 0) return data[0];
  const build = (offset: number, dim: number): unknown => {
    const n = shape[dim]!;
    if (dim === shape.length - 1) return Array.from(data.subarray(offset, offset + n));
    const stride = sizeOf(shape.slice(dim + 1));
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) out.push(build(offset + i * stride, dim + 1));
    return out;
  };
  return build(0, 0);
}
