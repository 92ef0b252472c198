/** Every error tinyformer throws on bad input names the op and what was wrong with it. */
export class TensorError extends Error {
  /**
   * @param op - The op's name.
   * @param detail - What was wrong.
   */
  constructor(
    /** the op (or function) that rejected its input */
    readonly op: string,
    detail: string,
  ) {
    super(`${op}: ${detail}`);
    this.name = 'TensorError';
  }
}

/** A shape that does not fit the op: thrown at the call, before any kernel runs. */
export class ShapeError extends TensorError {
  /**
   * @param op - The op's name.
   * @param detail - What was wrong with the shape.
   */
  constructor(op: string, detail: string) {
    super(op, detail);
    this.name = 'ShapeError';
  }
}
