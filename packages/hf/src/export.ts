import { CharVocab } from '@tinyformer/data';
import { type DecoderLM, encodeSafetensors, type ModelConfig, parseCheckpoint } from '@tinyformer/model';
import { type HfArchitecture, HfInteropError, type Weights } from './architecture.js';
import { HF_ARCHITECTURES } from './architectures/index.js';
import { encodeJson, type HfFiles } from './files.js';
import { tokenizerConfigJson, tokenizerJson } from './tokenizer.js';

/** What exportHf produced: the folder's files, and the class they are for. */
export interface HfExport {
  /** config.json, generation_config.json, model.safetensors, and with a vocabulary tokenizer.json and tokenizer_config.json */
  files: HfFiles;
  /** config.json's model_type: 'llama', 'qwen3', 'gpt2' or 'gpt_neox' */
  modelType: string;
  /** the transformers class that loads it, e.g. 'LlamaForCausalLM' */
  className: string;
}

/**
 * The stock transformers class that computes this recipe after renaming, or an error naming why each one cannot.
 *
 * @param c - A resolved model config.
 * @returns The architecture.
 * @throws {@link HfInteropError} when no stock class holds the recipe (post-norm, norm 'none', LayerNorm + SwiGLU,
 *   RMSNorm + GELU, learned positions with RMSNorm, no final norm, ...).
 */
export function hfArchitectureFor(c: ModelConfig): HfArchitecture {
  const reasons: string[] = [];
  for (const arch of HF_ARCHITECTURES) {
    const why = arch.mismatch(c);
    if (why === null) return arch;
    reasons.push(`${arch.className}: ${why}`);
  }
  const recipe = `norm ${c.norm.kind}/${c.norm.placement}, ffn ${c.ffn.kind}, positions ${c.positional}${c.qkNorm ? ', QK-norm' : ''}${c.finalNorm ? '' : ', no final norm'}`;
  throw new HfInteropError(
    `no stock Hugging Face class computes this recipe (${recipe}); it would need a custom modeling class. ` +
      `Exportable: rmsnorm/pre/swiglu/rope (Llama, Qwen3 with QK-norm), layernorm/pre/gelu/learned (GPT-2), ` +
      `layernorm/pre/gelu/rope (GPT-NeoX). Why each stock class does not fit:\n  - ${reasons.join('\n  - ')}`,
  );
}

/**
 * Exports a model's config and weights as a Hugging Face folder, in memory: `from_pretrained` of the class in
 * config.json loads it, and `AutoTokenizer` loads the character vocabulary. Weights are float32; no optimizer state.
 *
 * @param model - The config and the weights by tinyformer name (a checkpoint's, or {@link weightsOf} a DecoderLM).
 * @param vocab - The character vocabulary, or null to write no tokenizer.
 * @returns The files and the class they are for.
 * @throws {@link HfInteropError} when no stock class holds the recipe.
 *
 * @example
 * ```ts
 * const { files, className } = exportHf({ config: model.config, weights: await weightsOf(model) }, vocab);
 * for (const [name, bytes] of files) await fs.writeFile(`out/${name}`, bytes);
 * ```
 */
export function exportHf(model: { config: ModelConfig; weights: Weights }, vocab: CharVocab | null): HfExport {
  const c = model.config;
  const arch = hfArchitectureFor(c);
  if (vocab && vocab.size !== c.vocabSize) {
    throw new HfInteropError(`the vocabulary has ${vocab.size} characters but the model's vocabSize is ${c.vocabSize}`);
  }
  const files: HfFiles = new Map();
  files.set('config.json', encodeJson(arch.configJson(c)));
  files.set(
    'generation_config.json',
    encodeJson({
      bos_token_id: null,
      eos_token_id: null,
      pad_token_id: null,
      do_sample: true,
      temperature: 1.0,
      top_k: 0,
      top_p: 1.0,
      max_length: c.contextLength,
    }),
  );
  files.set('model.safetensors', encodeSafetensors(arch.toHf(c, model.weights), { format: 'pt' }));
  if (vocab) {
    files.set('tokenizer.json', encodeJson(tokenizerJson(vocab)));
    files.set('tokenizer_config.json', encodeJson(tokenizerConfigJson(c.contextLength)));
  }
  return { files, modelType: arch.modelType, className: arch.className };
}

/**
 * Exports a tinyformer checkpoint (charlm's, or any with a `vocab` in its metadata) from its bytes.
 *
 * @param bytes - The checkpoint file.
 * @param source - Names it in error messages.
 * @returns The files and the class they are for.
 * @throws {@link HfInteropError} when no stock class holds the recipe; CheckpointError for a damaged file.
 */
export function exportHfFromCheckpoint(bytes: Uint8Array | ArrayBuffer, source = 'checkpoint bytes'): HfExport {
  const { config, weights, meta } = parseCheckpoint(bytes, source);
  const vocab = meta.vocab === undefined ? null : CharVocab.fromJSON(meta.vocab);
  return exportHf({ config, weights }, vocab);
}

/**
 * A DecoderLM's weights by tinyformer name (read back from its backend).
 *
 * @param model - The model.
 * @returns name -> shape and float32 values.
 */
export async function weightsOf(model: DecoderLM): Promise<Weights> {
  const out: Weights = new Map();
  for (const [name, p] of model.namedParameters()) out.set(name, { shape: [...p.shape], data: await p.data() });
  return out;
}
