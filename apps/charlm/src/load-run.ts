import { existsSync, statSync } from 'node:fs';
import { CharVocab } from '@tinyformer/data';
import { CheckpointError, type DecoderLM } from '@tinyformer/model';
import { loadCheckpoint } from '@tinyformer/model/node';
import { CliError } from './errors.js';
import { runPaths } from './run-folder.js';

/** Loads a run folder's checkpoint (or a checkpoint file given directly) with its vocabulary. */
export function loadRun(checkpoint: string): {
  model: DecoderLM;
  vocab: CharVocab;
  meta: Record<string, unknown>;
  file: string;
} {
  let file = checkpoint;
  if (existsSync(checkpoint) && statSync(checkpoint).isDirectory()) file = runPaths(checkpoint).checkpoint;
  if (!existsSync(file)) throw new CliError(`--checkpoint ${checkpoint}: no checkpoint found at ${file}`);
  try {
    const { model, meta } = loadCheckpoint(file);
    if (!Array.isArray(meta.vocab))
      throw new CliError(`checkpoint ${file} has no character vocabulary: it was not written by charlm`);
    const vocab = CharVocab.fromJSON(meta.vocab);
    if (vocab.size !== model.config.vocabSize) {
      throw new CliError(
        `checkpoint ${file}: its vocabulary has ${vocab.size} characters but the model expects ${model.config.vocabSize}`,
      );
    }
    return { model, vocab, meta, file };
  } catch (e) {
    if (e instanceof CheckpointError || e instanceof CliError) throw new CliError(e.message);
    throw e;
  }
}
