import type { Rng } from '@tinyformer/tensor';

/** How the next token is picked from the logits. */
export interface SamplingOptions {
  /** <= 0 means greedy (argmax); default 1 */
  temperature?: number;
  /** keep only the k most likely tokens (0 or undefined = off) */
  topK?: number;
  /** nucleus sampling: keep the smallest set with cumulative probability >= topP (1 or undefined = off) */
  topP?: number;
}

/** An invalid sampling option or generate argument. */
export class SamplingError extends Error {
  /** @param message - What is wrong. */
  constructor(message: string) {
    super(message);
    this.name = 'SamplingError';
  }
}

/**
 * Checks sampling options against a vocabulary size.
 *
 * @param o - The options.
 * @param vocab - The vocabulary size.
 * @throws {@link SamplingError} when temperature is not finite, topK is not an integer in [0, vocab], or topP is
 *   not in (0, 1].
 */
export function validateSampling(o: SamplingOptions, vocab: number): void {
  const { temperature = 1, topK, topP } = o;
  if (!Number.isFinite(temperature)) throw new SamplingError(`temperature must be a finite number, got ${temperature}`);
  if (topK !== undefined && (!Number.isInteger(topK) || topK < 0 || topK > vocab)) {
    throw new SamplingError(`topK must be an integer in [0, ${vocab}] (0 = off), got ${topK}`);
  }
  if (topP !== undefined && (!(topP > 0) || topP > 1)) throw new SamplingError(`topP must be in (0, 1], got ${topP}`);
}

/**
 * Picks the next token from one row of logits (host-side; the row is small).
 *
 * @param logits - One row of logits (vocabSize values).
 * @param o - Temperature, topK, topP.
 * @param rng - The random generator.
 * @returns The token id.
 */
export function sampleToken(logits: Float32Array, o: SamplingOptions, rng: Rng): number {
  const V = logits.length;
  const { temperature = 1, topK = 0, topP = 1 } = o;
  if (temperature <= 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i]! > logits[best]!) best = i;
    return best;
  }
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]!);
  const keep = topK > 0 ? order.slice(0, topK) : order;
  const max = logits[keep[0]!]!;
  let probs = keep.map((i) => Math.exp((logits[i]! - max) / temperature));
  let total = probs.reduce((a, b) => a + b, 0);
  let n = keep.length;
  if (topP < 1) {
    let cum = 0;
    n = 0;
    while (n < keep.length) {
      cum += probs[n]! / total;
      n++;
      if (cum >= topP) break;
    }
    probs = probs.slice(0, n);
    total = probs.reduce((a, b) => a + b, 0);
  }
  let u = rng.uniform() * total;
  for (let i = 0; i < n; i++) {
    u -= probs[i]!;
    if (u <= 0) return keep[i]!;
  }
  return keep[n - 1]!;
}
