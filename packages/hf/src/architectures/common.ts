import { defaultHiddenDim } from '@tinyformer/ffn';
import type { ModelConfig } from '@tinyformer/model';
import { filled, type HfConfig, take, type Weights } from '../architecture.js';

/** The FFN's hidden width of a resolved config. */
export const hiddenDim = (c: ModelConfig) => c.ffn.hiddenDim ?? defaultHiddenDim(c.ffn.kind, c.dModel);
export const headDim = (c: ModelConfig) => c.dModel / c.nHeads;
export const kvHeads = (c: ModelConfig) => c.nKvHeads ?? c.nHeads;

/** A bias by name, or zeros of length n where our recipe has none (classes with biases everywhere need them). */
export const biasOrZeros = (w: Weights, name: string, n: number) => w.get(name) ?? filled([n], 0);

/**
 * Why a LayerNorm + GELU class (GPT-2 with learned positions, GPT-NeoX with RoPE) cannot hold the recipe, or null.
 *
 * @param c - The resolved config.
 * @param model - The class's short name, for the reasons.
 * @param positional - The positions the class uses.
 */
export function layerNormGeluMismatch(c: ModelConfig, model: string, positional: 'learned' | 'rope'): string | null {
  const block = blockMismatch(c);
  if (block) return block;
  if (c.norm.kind !== 'layernorm') return `RMSNorm (${model} uses LayerNorm)`;
  if (c.ffn.kind !== 'gelu') return `SwiGLU (${model} uses a GELU MLP)`;
  if (c.positional !== positional) {
    return positional === 'rope' ? `learned positions (${model} uses RoPE)` : `RoPE (${model} uses learned positions)`;
  }
  if (c.qkNorm) return 'QK-norm';
  if (kvHeads(c) !== c.nHeads) return 'grouped-query attention';
  return null;
}

/** What every stock class needs: pre-norm blocks and a final norm. */
export function blockMismatch(c: ModelConfig): string | null {
  if (c.norm.placement !== 'pre') return 'post-norm blocks (every stock decoder is pre-norm)';
  if (!c.finalNorm) return 'no final norm before the LM head';
  if (c.norm.kind !== 'rmsnorm' && c.norm.kind !== 'layernorm') return `norm kind "${c.norm.kind}"`;
  return null;
}

/**
 * A norm's HF weight (and bias, for LayerNorm): ours when learned, else the identity (ones, zeros), which is what
 * a norm without a learned gain or shift computes.
 */
export function normToHf(w: Weights, ours: string, dim: number, out: Weights, theirs: string, withBias: boolean): void {
  out.set(`${theirs}.weight`, w.get(`${ours}.weight`) ?? filled([dim], 1));
  if (withBias) out.set(`${theirs}.bias`, w.get(`${ours}.bias`) ?? filled([dim], 0));
}

/**
 * Ours from an HF norm. Imported configs always learn the gain (affine); a LayerNorm learns its shift unless every
 * shift in the file is zero (norm.bias false), which is what an export of a shift-free model writes.
 */
export function normFromHf(
  c: ModelConfig,
  hf: Weights,
  theirs: string,
  out: Weights,
  ours: string,
  where: string,
): void {
  out.set(`${ours}.weight`, take(hf, `${theirs}.weight`, where));
  if (c.norm.kind === 'layernorm' && c.norm.bias) out.set(`${ours}.bias`, take(hf, `${theirs}.bias`, where));
}

/** True when every listed tensor exists and is all zeros (biases an export wrote for a bias-free model). */
export function allZero(hf: Weights, names: string[]): boolean {
  return names.every((n) => hf.get(n)?.data.every((x) => x === 0) === true);
}

/** No token ids are special in a character vocabulary (HF's defaults name ids that would end sampling). */
export const NO_SPECIAL_TOKENS = { bos_token_id: null, eos_token_id: null, pad_token_id: null };

/** The fields every exported config.json carries. */
export function commonConfig(c: ModelConfig): HfConfig {
  return {
    vocab_size: c.vocabSize,
    torch_dtype: 'float32',
    tie_word_embeddings: c.tieEmbeddings,
    use_cache: true,
    ...NO_SPECIAL_TOKENS,
  };
}
