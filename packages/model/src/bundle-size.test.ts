import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

/**
 * The size budget of a page that builds and trains a DecoderLM: what it imports from tensor, autograd, norm,
 * attention, ffn, model and data, tree-shaken and minified by esbuild for the browser. Validation is zod/mini
 * (the classic zod API alone was ~450 KB of a 600 KB bundle).
 */
const BUDGET = 250 * 1024;

const PAGE = `
import { BatchSampler, CharDataset, CharVocab } from '@tinyformer/data';
import { CausalSelfAttention } from '@tinyformer/attention';
import { noGrad } from '@tinyformer/autograd';
import { createFfn } from '@tinyformer/ffn';
import { createNorm, normKinds } from '@tinyformer/norm';
import { DecoderLM, decodeCheckpoint, encodeCheckpoint, generate, Trainer } from '@tinyformer/model';
import { CpuBackend, setBackend } from '@tinyformer/tensor';
export { BatchSampler, CharDataset, CharVocab, CausalSelfAttention, noGrad, createFfn, createNorm, normKinds };
export { DecoderLM, decodeCheckpoint, encodeCheckpoint, generate, Trainer, CpuBackend, setBackend };
`;

describe('bundle size', () => {
  it(`a page that trains a DecoderLM stays under ${BUDGET / 1024} KB minified`, async () => {
    const result = await build({
      stdin: { contents: PAGE, resolveDir: import.meta.dirname, loader: 'ts' },
      bundle: true,
      minify: true,
      platform: 'browser',
      format: 'esm',
      conditions: ['source'],
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const bytes = result.outputFiles[0]!.contents.length;
    const [output] = Object.values(result.metafile.outputs);
    const zod = Object.entries(output?.inputs ?? {})
      .filter(([f]) => f.includes('/zod/'))
      .reduce((n, [, v]) => n + v.bytesInOutput, 0);
    expect(bytes, `bundle ${bytes} bytes (zod ${zod})`).toBeLessThan(BUDGET);
  });
});
