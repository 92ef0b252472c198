import { noGrad } from '@tinyformer/autograd';
import { Rng, tensor, tidy } from '@tinyformer/tensor';
import type { DecoderLM } from './decoder-lm.js';
import { turnEventLoop } from './event-loop.js';
import { SamplingError, type SamplingOptions, sampleToken, validateSampling } from './sampling.js';

/** Options of generate: how many tokens, the seed, sampling (temperature, topK, topP), cache and streaming. */
export interface GenerateOptions extends SamplingOptions {
  /** tokens to generate (an integer >= 0) */
  maxTokens: number;
  /** seed of the sampling RNG (default 0) */
  seed?: number;
  /** use the KV cache (default true); false recomputes the whole window per token (for comparison) */
  useCache?: boolean;
  /** called with each new token id as soon as it is sampled (streaming) */
  onToken?: (id: number) => void;
  /** checked before each token: true ends generation early (a Ctrl-C, a page's stop button); the tokens so far are returned */
  shouldStop?: () => boolean;
}

/**
 * Autoregressive sampling. With the cache, each step runs only the new token through the model. When the
 * sequence outgrows the context the window slides: the cache is rebuilt from the last contextLength tokens each
 * step, so the logits equal those of an uncached sliding-window pass (and the cache stops saving work).
 *
 * @param model - The model.
 * @param prompt - Token ids to continue (at least one, each in [0, vocabSize)).
 * @param opts - Length, seed, sampling, cache, streaming callback.
 * @returns The generated token ids, without the prompt.
 * @throws {@link SamplingError} when maxTokens, the prompt or a sampling option is invalid.
 *
 * @example
 * ```ts
 * const ids = await generate(model, Array.from(vocab.encode('ROMEO:')), { maxTokens: 200, temperature: 0.8, topK: 40 });
 * console.log(vocab.decode(Int32Array.from(ids)));
 * ```
 */
export async function generate(model: DecoderLM, prompt: readonly number[], opts: GenerateOptions): Promise<number[]> {
  const { maxTokens, seed = 0, useCache = true } = opts;
  const ctx = model.config.contextLength;
  const V = model.config.vocabSize;
  validateSampling(opts, V);
  if (!Number.isInteger(maxTokens) || maxTokens < 0)
    throw new SamplingError(`maxTokens must be an integer >= 0, got ${maxTokens}`);
  if (prompt.length === 0) throw new SamplingError('the prompt is empty: give at least one token');
  for (const [i, id] of prompt.entries()) {
    if (!Number.isInteger(id) || id < 0 || id >= V)
      throw new SamplingError(`prompt token ${id} at ${i} is outside [0, ${V})`);
  }
  const rng = new Rng(seed);
  const seq = [...prompt];
  const backend = model.wte.weight.backend;
  const cache = useCache ? model.newCache() : null;
  try {
    for (let step = 0; step < maxTokens; step++) {
      await turnEventLoop();
      if (opts.shouldStop?.()) break;
      let input: number[];
      if (cache && cache.length > 0 && cache.length < ctx) {
        input = [seq[seq.length - 1]!];
      } else {
        cache?.clear();
        input = seq.slice(-ctx);
      }
      const last = noGrad(() =>
        tidy(() => {
          const ids = tensor(Int32Array.from(input), [1, input.length], { backend });
          const logits = model.forward(ids, { cache: cache ?? undefined });
          return logits.slice([0, input.length - 1, 0], [1, 1, V]);
        }),
      );
      const row = await last.data();
      last.dispose();
      const next = sampleToken(row, opts, rng);
      seq.push(next);
      opts.onToken?.(next);
    }
  } finally {
    cache?.clear();
  }
  return seq.slice(prompt.length);
}
