import { noGrad } from '@tinyformer/autograd';
import { evalBatches } from '@tinyformer/data';
import { type DecoderLM, turnEventLoop } from '@tinyformer/model';
import { tensor, tidy } from '@tinyformer/tensor';

/** Seed of the fixed evaluation windows: the same text is scored at every eval, in every run and resume. */
export const EVAL_SEED = 20_251_126;

/**
 * Mean next-token loss (nats per character) over `count` fixed batches of a split (windows from {@link EVAL_SEED}).
 *
 * @param model - The model, on the backend its weights live on.
 * @param split - The token ids of a split, e.g. `CharDataset.val`.
 * @param batchSize - Windows per batch.
 * @param contextLength - Tokens per window.
 * @param count - Batches.
 * @param opts - `shouldStop`: checked before each batch; true ends the evaluation early.
 * @returns The mean loss, or NaN when `shouldStop` ended it early.
 */
export async function meanLoss(
  model: DecoderLM,
  split: Int32Array,
  batchSize: number,
  contextLength: number,
  count: number,
  opts: { shouldStop?: () => boolean } = {},
): Promise<number> {
  const backend = model.wte.weight.backend;
  let total = 0;
  for (const b of evalBatches(split, batchSize, contextLength, count, EVAL_SEED)) {
    // a Ctrl-C during a long evaluation is seen within a fraction of a second
    await turnEventLoop();
    if (opts.shouldStop?.()) return Number.NaN;
    const loss = noGrad(() =>
      tidy(() => {
        const x = tensor(b.x, [batchSize, contextLength], { backend, dtype: 'int32' });
        const y = tensor(b.y, [batchSize, contextLength], { backend, dtype: 'int32' });
        return model.loss(x, y);
      }),
    );
    total += await loss.item();
    loss.dispose();
  }
  return total / count;
}

/**
 * A loss in nats per character as bits per character.
 *
 * @param nats - The loss in nats.
 * @returns The same loss in bits.
 */
export function bitsPerChar(nats: number): number {
  return nats / Math.LN2;
}
