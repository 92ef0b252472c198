import { formatShape, type Shape, Tensor, TensorError, zeros } from '@tinyformer/tensor';

/**
 * A trainable tensor: a leaf that requires grad, survives tidy(), and carries a name used in checkpoints and in
 * error messages (e.g. which parameter's gradient went non-finite).
 */
export class Parameter extends Tensor {
  constructor(init: Tensor, name: string) {
    if (init.dtype !== 'float32') throw new TensorError('Parameter', `'${name}' must be float32, got ${init.dtype}`);
    super(init.backend, init.storage, init.shape, 'float32', init);
    this.name = name;
    this.requiresGrad = true;
    this.kept = true;
  }

  /** Replaces the values (same size), e.g. when loading a checkpoint; works on every backend. */
  setValues(values: Float32Array): void {
    if (values.length !== this.size) {
      throw new TensorError(
        'Parameter.setValues',
        `'${this.name}' ${formatShape(this.shape)} needs ${this.size} values, got ${values.length}`,
      );
    }
    this.replaceStorage(this.backend.upload(values));
  }

  zeroGrad(): void {
    this.grad?.dispose();
    this.grad = null;
  }
}

export function isParameter(t: unknown): t is Parameter {
  return t instanceof Parameter;
}

/** Zeroed gradient buffers shaped like a parameter (optimizer state). */
export function zerosLikeParam(p: Parameter, shape: Shape = p.shape): Tensor {
  return zeros(shape, { backend: p.backend }).keep();
}
