/** Every error tinyformer throws on bad input names the op and what was wrong with it. */
export class TensorError extends Error {
  constructor(
    readonly op: string,
    detail: string,
  ) {
    super(`${op}: ${detail}`);
    this.name = 'TensorError';
  }
}

/** A shape that does not fit the op: thrown at the call, before any kernel runs. */
export class ShapeError extends TensorError {
  constructor(op: string, detail: string) {
    super(op, detail);
    this.name = 'ShapeError';
  }
}
