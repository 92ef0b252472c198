/**
 * A seeded PRNG (xoshiro128**) whose whole state is four uint32 words, so a checkpoint can save it and a
 * resumed run draws exactly the same numbers. Normal samples use Box-Muller and cache nothing, so the state
 * is the only thing to save.
 */
export class Rng {
  private s: Uint32Array;

  /**
   * @param seed - The seed (default 0); equal seeds give equal sequences.
   *
   * @example
   * ```ts
   * const rng = new Rng(1337);
   * rng.uniform(); // in [0, 1)
   * const saved = rng.getState();
   * const again = new Rng();
   * again.setState(saved); // draws the same numbers as rng from here on
   * ```
   */
  constructor(seed = 0) {
    this.s = new Uint32Array(4);
    // splitmix32 expands the seed so nearby seeds give unrelated streams
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.s[0]! === 0 && this.s[1]! === 0 && this.s[2]! === 0 && this.s[3]! === 0) this.s[0] = 1;
  }

  /**
   * The generator's state, for checkpoints.
   *
   * @returns Four uint32 words.
   */
  getState(): number[] {
    return Array.from(this.s);
  }

  /**
   * Restores a state saved with getState.
   *
   * @param state - Four uint32 words.
   * @throws Error when state is not four uint32 words, or is all zero.
   */
  setState(state: readonly number[]): void {
    if (state.length !== 4 || state.some((v) => !Number.isInteger(v) || v < 0 || v > 0xffffffff)) {
      throw new Error(`Rng.setState: expected 4 uint32 words, got ${JSON.stringify(state)}`);
    }
    // xoshiro's all-zero state is a fixed point: it would draw 0 forever (one batch, over and over)
    if (state.every((v) => v === 0)) throw new Error('Rng.setState: the all-zero state is invalid (it never changes)');
    this.s.set(state);
  }

  /**
   * Next uint32.
   *
   * @returns An integer in [0, 2^32).
   */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2] = s[2]! ^ s[0]!;
    s[3] = s[3]! ^ s[1]!;
    s[1] = s[1]! ^ s[2]!;
    s[0] = s[0]! ^ s[3]!;
    s[2] = s[2]! ^ t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /**
   * Uniform in [0, 1) with 32 bits of resolution.
   *
   * @returns A number in [0, 1).
   */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /**
   * Standard normal (Box-Muller; uses two uniforms per sample).
   *
   * @returns A sample of N(0, 1).
   */
  normal(): number {
    let u = this.uniform();
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /**
   * Uniform integer in [0, n).
   *
   * @param n - The bound (a positive integer).
   * @returns An integer in [0, n).
   * @throws Error when n is not a positive integer.
   */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`Rng.int: n must be a positive integer, got ${n}`);
    return Math.floor(this.uniform() * n);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
