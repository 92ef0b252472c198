import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CharVocab } from '@tinyformer/data';
import { HfInteropError, importHf } from '@tinyformer/hf';
import { CheckpointError, type DecoderLM, findNonFinite } from '@tinyformer/model';
import { loadCheckpoint } from '@tinyformer/model/node';
import { CliError } from './errors.js';
import { runPaths } from './run-folder.js';

/** A Hugging Face model folder (what `charlm export` writes): config.json with a model_type. */
export function isHfFolder(dir: string): boolean {
  const config = join(dir, 'config.json');
  if (!existsSync(config) || existsSync(runPaths(dir).checkpoint)) return false;
  try {
    return typeof (JSON.parse(readFileSync(config, 'utf8')) as { model_type?: unknown }).model_type === 'string';
  } catch {
    return false;
  }
}

/** Loads a Hugging Face folder (Llama, Qwen3, GPT-2, GPT-NeoX) with its character tokenizer. */
function loadHfFolder(dir: string): {
  model: DecoderLM;
  vocab: CharVocab;
  meta: Record<string, unknown>;
  file: string;
} {
  const files = new Map<string, Uint8Array>();
  for (const name of readdirSync(dir)) {
    if (/\.(json|safetensors)$/.test(name) && statSync(join(dir, name)).isFile())
      files.set(name, readFileSync(join(dir, name)));
  }
  try {
    const { model, vocab, modelType } = importHf(files);
    if (!vocab) {
      throw new CliError(
        `${dir}: its tokenizer.json is missing or not character-level; charlm samples only character vocabularies`,
      );
    }
    if (vocab.size !== model.config.vocabSize) {
      throw new CliError(
        `${dir}: tokenizer.json has ${vocab.size} characters but the model's vocab_size is ${model.config.vocabSize}`,
      );
    }
    return { model, vocab, meta: { kind: 'hf', modelType }, file: dir };
  } catch (e) {
    if (e instanceof HfInteropError || e instanceof CheckpointError) throw new CliError(`${dir}: ${e.message}`);
    throw e;
  }
}

/**
 * Loads a run folder's checkpoint (or a checkpoint file given directly, or a Hugging Face folder from
 * `charlm export` or transformers' save_pretrained) with its vocabulary.
 */
export function loadRun(checkpoint: string): {
  model: DecoderLM;
  vocab: CharVocab;
  meta: Record<string, unknown>;
  file: string;
} {
  let file = checkpoint;
  if (existsSync(checkpoint) && statSync(checkpoint).isDirectory()) {
    if (isHfFolder(checkpoint)) return loadHfFolder(checkpoint);
    file = runPaths(checkpoint).checkpoint;
  }
  if (!existsSync(file)) throw new CliError(`--checkpoint ${checkpoint}: no checkpoint found at ${file}`);
  try {
    const { model, meta, weights } = loadCheckpoint(file);
    const bad = findNonFinite(weights);
    if (bad) {
      throw new CliError(
        `checkpoint ${file} holds non-finite weights ("${bad.name}" is ${bad.value} at index ${bad.index}): it cannot be sampled or evaluated; use an earlier checkpoint (best.safetensors) or retrain with a lower --lr`,
      );
    }
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
