import { defaultHiddenDim } from '@tinyformer/ffn';
import { createNorm } from '@tinyformer/norm';
import { blockNormConfig } from './block.js';
import type { ModelConfig } from './config.js';

/**
 * The parameters a DecoderLM of `c` has, by name and shape, in the model's own order, computed without building it
 * (a norm layer of the right width is built to learn a norm kind's parameters: O(dModel) floats). Checkpoint loading
 * compares a file's tensors with this before allocating anything, so a file cannot make a model bigger than itself.
 *
 * @param c - A resolved config.
 * @returns [name, shape] pairs, as DecoderLM.namedParameters() lists them.
 */
export function parameterShapes(c: ModelConfig): [string, number[]][] {
  const out: [string, number[]][] = [];
  const C = c.dModel;
  const hd = C / c.nHeads;
  const kv = c.nKvHeads ?? c.nHeads;
  const I = c.ffn.hiddenDim ?? defaultHiddenDim(c.ffn.kind, C);
  const norm = blockNormConfig(c);
  const normParams = (prefix: string, dim: number) => {
    for (const [name, p] of createNorm(norm, dim).namedParameters()) out.push([`${prefix}.${name}`, [...p.shape]]);
  };
  const linear = (prefix: string, inDim: number, outDim: number) => {
    out.push([`${prefix}.weight`, [outDim, inDim]]);
    if (c.bias) out.push([`${prefix}.bias`, [outDim]]);
  };
  // own parameters first, then submodules, as Module.namedParameters walks them
  if (c.positional === 'learned') out.push(['wpe', [c.contextLength, C]]);
  if (!c.tieEmbeddings) out.push(['lmHead', [c.vocabSize, C]]);
  out.push(['wte.weight', [c.vocabSize, C]]);
  for (let i = 0; i < c.nLayers; i++) {
    const b = `blocks.${i}`;
    normParams(`${b}.norm1`, C);
    linear(`${b}.attn.qkv`, C, (c.nHeads + 2 * kv) * hd);
    linear(`${b}.attn.proj`, C, C);
    if (c.qkNorm && c.norm.kind !== 'none') {
      normParams(`${b}.attn.qNorm`, hd);
      normParams(`${b}.attn.kNorm`, hd);
    }
    normParams(`${b}.norm2`, C);
    if (c.ffn.kind === 'swiglu') {
      linear(`${b}.ffn.w1`, C, I);
      linear(`${b}.ffn.w3`, C, I);
      linear(`${b}.ffn.w2`, I, C);
    } else {
      linear(`${b}.ffn.fc`, C, I);
      linear(`${b}.ffn.proj`, I, C);
    }
  }
  if (c.finalNorm) normParams('finalNorm', C);
  return out;
}
