import { describe, expect, it } from 'vitest';
import type { ModelConfigInput } from './config.js';
import { DecoderLM } from './decoder-lm.js';
import { parameterShapes } from './parameter-shapes.js';

const base = { vocabSize: 11, contextLength: 8, dModel: 8, nLayers: 2, nHeads: 2 };
const VARIANTS: ModelConfigInput[] = [
  base,
  { ...base, positional: 'learned', tieEmbeddings: false, bias: true },
  { ...base, norm: { kind: 'layernorm', placement: 'post' }, ffn: { kind: 'gelu', hiddenDim: 20 } },
  { ...base, norm: { kind: 'layernorm', bias: false }, qkNorm: true, nKvHeads: 1 },
  { ...base, norm: { kind: 'rmsnorm', affine: false }, qkNorm: true },
  { ...base, norm: { kind: 'none' }, finalNorm: false },
  { ...base, nHeads: 4, nKvHeads: 2, bias: true },
];

describe('parameterShapes', () => {
  VARIANTS.forEach((config, i) => {
    it(`variant ${i}: the names, shapes and order of a built DecoderLM`, () => {
      const m = new DecoderLM(config);
      expect(parameterShapes(m.config)).toEqual(m.namedParameters().map(([n, p]) => [n, [...p.shape]]));
    });
  });
});
