import { formatShape, type Shape, Tensor, TensorError, zeros } from '@tinyformer/tensor';

/**
 * A trainable tensor: a leaf that requires grad, survives tidy(), and carries a name used in checkpoints and in
 * error messages (e.g. which parameter's gradient went non-finite).
 */
export class Parameter extends Tensor {
  /**
   * @param init - The initial values; the parameter shares its storage.
   * @param name - The parameter's name (its path in the model).
   * @throws {@link @tinyformer/tensor!TensorError} when init is not float32.
   */
  constructor(init: Tensor, name: string) {
    if (init.dtype !== 'float32') throw new TensorError('Parameter', `'${name}' must be float32, got ${init.dtype}`);
    super(init.backend, init.storage, init.shape, 'float32', init);
    this.name = name;
    this.requiresGrad = true;
    this.kept = true;
  }

  /**
   * Replaces the values (same size), e.g. when loading a checkpoint; works on every backend.
   *
   * @param values - The new values, row-major.
   * @throws {@link @tinyformer/tensor!TensorError} when the number of values differs from the parameter's size.
   */
  setValues(values: Float32Array): void {
    if (values.length !== this.size) {
      throw new TensorError(
        'Parameter.setValues',
        `'${this.name}' ${formatShape(this.shape)} needs ${this.size} values, got ${values.length}`,
      );
    }
    this.replaceStorage(this.backend.upload(values));
  }

  /** Disposes the gradient and sets it to null. */
  zeroGrad(): void {
    this.grad?.dispose();
    this.grad = null;
  }
}

/**
 * Whether a value is a Parameter.
 *
 * @param t - Any value.
 * @returns True for a Parameter.
 */
export function isParameter(t: unknown): t is Parameter {
  return t instanceof Parameter;
}

/**
 * Zeroed gradient buffers shaped like a parameter (optimizer state).
 *
 * @param p - The parameter (its backend is used).
 * @param shape - The buffer's shape (default: the parameter's).
 * @returns A kept zero tensor.
 */
export function zerosLikeParam(p: Parameter, shape: Shape = p.shape): Tensor {
  return zeros(shape, { backend: p.backend }).keep();
}
