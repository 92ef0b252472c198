import { CharDataset } from '@tinyformer/data';
import { loadBrownText, readTextFile } from '@tinyformer/data/node';
import { bitsPerChar, meanLoss } from '@tinyformer/recipe';
import { setBackend } from '@tinyformer/tensor';
import { type BackendPreference, chooseBackend } from './backend.js';
import { CliError } from './errors.js';
import { loadRun } from './load-run.js';

export interface EvalOptions {
  checkpoint: string;
  data?: string;
  batches: number;
  batchSize: number;
  backend: BackendPreference;
  log: (line: string) => void;
}

/** Validation loss and bits per character of a checkpoint on a text's validation split (its last 10%). */
export async function runEval(o: EvalOptions): Promise<{ valLoss: number; bitsPerChar: number }> {
  const chosen = await chooseBackend(o.backend);
  o.log(`backend: ${chosen.reason}`);
  setBackend(chosen.backend);
  try {
    const { model, vocab, file } = loadRun(o.checkpoint);
    const text = o.data ? readTextFile(o.data) : loadBrownText();
    const unknown = [...new Set(text)].filter((ch) => !vocab.has(ch));
    if (unknown.length > 0) {
      throw new CliError(
        `${o.data ?? 'the default corpus'} has ${unknown.length} character(s) outside the vocabulary of ${file} (e.g. ${unknown
          .slice(0, 5)
          .map((c) => JSON.stringify(c))
          .join(', ')}): evaluate on text like the training data`,
      );
    }
    const dataset = new CharDataset(text, vocab);
    const T = model.config.contextLength;
    dataset.validate(T, o.data ?? 'the default corpus');
    const valLoss = await meanLoss(model, dataset.val, o.batchSize, T, o.batches);
    const bpc = bitsPerChar(valLoss);
    o.log(
      `val loss ${valLoss.toFixed(4)} nats/char, ${bpc.toFixed(4)} bits/char (${o.batches} batches of ${o.batchSize} x ${T})`,
    );
    return { valLoss, bitsPerChar: bpc };
  } finally {
    await chosen.dispose();
  }
}
