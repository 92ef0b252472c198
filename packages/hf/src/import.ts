import type { CharVocab } from '@tinyformer/data';
import { DecoderLM, decodeSafetensors, loadWeights, type ModelConfig } from '@tinyformer/model';
import { type HfConfig, HfInteropError, type Weights } from './architecture.js';
import { HF_ARCHITECTURES } from './architectures/index.js';
import { decodeJson } from './files.js';
import { vocabFromTokenizer } from './tokenizer.js';

/** What importHf read from a Hugging Face folder. */
export interface HfImport {
  /** the model, weights loaded, ready to sample or fine-tune */
  model: DecoderLM;
  /** the tinyformer config that the HF config maps to */
  config: ModelConfig;
  /** the weights by tinyformer name */
  weights: Weights;
  /** the character vocabulary from tokenizer.json, or null (no tokenizer, or not a character-level one) */
  vocab: CharVocab | null;
  /** config.json's model_type */
  modelType: string;
}

/** Tensors a transformers checkpoint may hold that are buffers, not weights (recomputed by every implementation). */
const BUFFERS = /(\.attn\.bias|\.attn\.masked_bias|\.attention\.bias|\.attention\.masked_bias|rotary_emb\.inv_freq)$/;

/** The safetensors of a folder: model.safetensors, or the shards listed by model.safetensors.index.json. */
function readTensors(files: ReadonlyMap<string, Uint8Array>): Weights {
  const single = files.get('model.safetensors');
  if (single) return decodeSafetensors(single, 'model.safetensors', { convertToF32: true }).tensors;
  const index = decodeJson(files, 'model.safetensors.index.json') as
    | { weight_map?: Record<string, string> }
    | undefined;
  if (!index) {
    throw new HfInteropError(
      'no model.safetensors (or model.safetensors.index.json) in the folder; PyTorch .bin files are not read',
    );
  }
  const shards = new Set(Object.values(index.weight_map ?? {}));
  const out: Weights = new Map();
  for (const shard of shards) {
    const bytes = files.get(shard);
    if (!bytes) throw new HfInteropError(`model.safetensors.index.json names the shard ${shard}, which is missing`);
    for (const [k, v] of decodeSafetensors(bytes, shard, { convertToF32: true }).tensors) out.set(k, v);
  }
  return out;
}

/**
 * Loads a Hugging Face model folder (from its files' bytes) into a DecoderLM: Llama, Qwen3, GPT-2 or GPT-NeoX,
 * F32, F16 or BF16 weights (converted to float32), grouped-query attention and untied heads included. Every
 * config field that changes the math and that tinyformer does not implement (RoPE scaling, sliding windows,
 * mixture-of-experts, parallel residuals, exact-erf GELU, mixed bias settings, ...) is refused by name, and every
 * tensor in the file must be used.
 *
 * @param files - File name -> bytes: config.json and model.safetensors at least; tokenizer.json for the vocabulary.
 * @returns The model, its config and weights, the vocabulary (or null) and the model type.
 * @throws {@link HfInteropError} on an unsupported model type or field, a missing or unused tensor; CheckpointError
 *   on a damaged safetensors file; ConfigError when the sizes are invalid.
 *
 * @example
 * ```ts
 * const files = new Map([['config.json', configBytes], ['model.safetensors', weightBytes], ['tokenizer.json', tok]]);
 * const { model, vocab } = importHf(files);
 * ```
 */
export function importHf(files: ReadonlyMap<string, Uint8Array>): HfImport {
  const hf = decodeJson(files, 'config.json') as HfConfig | undefined;
  if (!hf || typeof hf !== 'object') throw new HfInteropError('no config.json in the folder');
  const arch = HF_ARCHITECTURES.find((a) => a.modelType === hf.model_type);
  if (!arch) {
    throw new HfInteropError(
      `config.json: model_type ${JSON.stringify(hf.model_type)} is not supported (supported: ${HF_ARCHITECTURES.map((a) => a.modelType).join(', ')})`,
    );
  }
  const tensors = readTensors(files);
  const config = arch.fromHfConfig(hf, tensors);
  const weights = arch.fromHf(config, tensors);
  // every tensor in the file must be one the mapping uses: an extra one is a feature tinyformer would silently drop
  const used = new Set(arch.toHf(config, weights).keys());
  for (const name of tensors.keys()) {
    if (!used.has(name) && !BUFFERS.test(name)) {
      throw new HfInteropError(
        `model.safetensors: tensor "${name}" has no place in a ${arch.modelType} model of this config (a feature tinyformer does not implement?)`,
      );
    }
  }
  const model = new DecoderLM(config);
  loadWeights(model, weights, 'model.safetensors');
  const tokenizer = decodeJson(files, 'tokenizer.json');
  const vocab = tokenizer === undefined ? null : vocabFromTokenizer(tokenizer);
  if (vocab && vocab.size > config.vocabSize) {
    throw new HfInteropError(
      `tokenizer.json has ${vocab.size} tokens but the model's vocab_size is ${config.vocabSize}`,
    );
  }
  return { model, config, weights, vocab, modelType: arch.modelType };
}
