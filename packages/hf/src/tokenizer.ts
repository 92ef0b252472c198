import { CharVocab } from '@tinyformer/data';
import { HfInteropError } from './architecture.js';

/**
 * A character vocabulary as a Hugging Face `tokenizers` file: a BPE model whose vocabulary is the characters and
 * whose merge list is empty, so a text splits into its characters (BPE starts from characters and applies
 * merges), with no normalizer and no pre-tokenizer (spaces and newlines are tokens like any other) and the Fuse
 * decoder, which joins tokens with nothing between them. `PreTrainedTokenizerFast` loads it through
 * tokenizer_config.json.
 *
 * @param vocab - The character vocabulary.
 * @returns tokenizer.json's object.
 */
export function tokenizerJson(vocab: CharVocab): Record<string, unknown> {
  const ids: Record<string, number> = {};
  vocab.toJSON().forEach((ch, id) => {
    Object.defineProperty(ids, ch, { value: id, enumerable: true, writable: true, configurable: true });
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: 'Fuse' },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: ids,
      merges: [],
    },
  };
}

/**
 * tokenizer_config.json: the fast tokenizer class, the context length, and no space clean-up on decode.
 *
 * @param contextLength - The model's context length (model_max_length).
 * @returns tokenizer_config.json's object.
 */
export function tokenizerConfigJson(contextLength: number): Record<string, unknown> {
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    model_max_length: contextLength,
    clean_up_tokenization_spaces: false,
    add_bos_token: false,
    add_eos_token: false,
  };
}

/**
 * The character vocabulary of a tokenizer.json, when it is one: a BPE model without merges (or a WordLevel model)
 * whose tokens are single characters with ids 0..n-1. Null when the tokenizer is not character-level (a subword
 * tokenizer loads with the model, but tinyformer's sampler cannot use it).
 *
 * @param json - The parsed tokenizer.json.
 * @param file - Names it in errors.
 * @returns The vocabulary, or null.
 * @throws {@link HfInteropError} when the file is not a tokenizers JSON object.
 */
export function vocabFromTokenizer(json: unknown, file = 'tokenizer.json'): CharVocab | null {
  if (typeof json !== 'object' || json === null) throw new HfInteropError(`${file}: not a JSON object`);
  const model = (json as { model?: { type?: unknown; vocab?: unknown; merges?: unknown } }).model;
  if (!model || typeof model.vocab !== 'object' || model.vocab === null || Array.isArray(model.vocab)) {
    throw new HfInteropError(`${file}: no "model.vocab" object`);
  }
  const merges = model.merges;
  const charLevel =
    (model.type === 'BPE' && Array.isArray(merges) && merges.length === 0) || model.type === 'WordLevel';
  if (!charLevel) return null;
  const entries = Object.entries(model.vocab as Record<string, unknown>);
  const chars: string[] = new Array(entries.length);
  for (const [token, id] of entries) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= entries.length || chars[id] !== undefined)
      return null;
    if ([...token].length !== 1) return null;
    chars[id] = token;
  }
  return CharVocab.fromJSON(chars);
}
