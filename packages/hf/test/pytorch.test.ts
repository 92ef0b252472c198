// Exported folders checked against PyTorch: test/reference/hf_reference.py implements the four transformers
// classes from their documented semantics (not from our code) and computes logits from the exported config.json
// and model.safetensors; they must equal DecoderLM's to 1e-4 relative in float32. Then import -> export must give
// the same bytes, file for file. Needs Debian's python3-torch (.ci/run installs it); without it the suite skips
// with the reason, except under CI=true where it fails.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CharVocab } from '@tinyformer/data';
import { DecoderLM, type ModelConfigInput } from '@tinyformer/model';
import { Rng, tensor } from '@tinyformer/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { exportHf, importHf, weightsOf } from '../src/index.js';

const python = process.env.TINYFORMER_PYTHON ?? '/usr/bin/python3';
const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
const skip =
  probe.status === 0
    ? null
    : `no PyTorch for ${python} (apt-get install python3-torch): ${probe.stderr ?? probe.error}`;
const reference = resolve(import.meta.dirname, 'reference/hf_reference.py');
const work = mkdtempSync(join(tmpdir(), 'tinyformer-hf-'));

const TEXT = 'the quick brown fox jumps over the lazy dog.\n';
const vocab = CharVocab.fromText(TEXT);
const base = { vocabSize: vocab.size, contextLength: 12, dModel: 16, nLayers: 2, nHeads: 4 };

const RECIPES: { name: string; className: string; config: ModelConfigInput }[] = [
  { name: 'llama (rmsnorm/pre/swiglu/rope, tied)', className: 'LlamaForCausalLM', config: { ...base, ropeBase: 500 } },
  {
    name: 'llama, grouped-query (4 heads / 2 KV), untied head, biases, eps 1e-6',
    className: 'LlamaForCausalLM',
    config: { ...base, nKvHeads: 2, tieEmbeddings: false, bias: true, norm: { eps: 1e-6 } },
  },
  {
    name: 'qwen3 (QK-norm), multi-query (1 KV head)',
    className: 'Qwen3ForCausalLM',
    config: { ...base, qkNorm: true, nKvHeads: 1 },
  },
  {
    name: 'gpt2 (layernorm/pre/gelu/learned, no biases, tied)',
    className: 'GPT2LMHeadModel',
    config: { ...base, norm: { kind: 'layernorm', bias: false }, ffn: { kind: 'gelu' }, positional: 'learned' },
  },
  {
    name: 'gpt2, biases everywhere, untied, hidden 40',
    className: 'GPT2LMHeadModel',
    config: {
      ...base,
      norm: { kind: 'layernorm' },
      ffn: { kind: 'gelu', hiddenDim: 40 },
      positional: 'learned',
      bias: true,
      tieEmbeddings: false,
    },
  },
  {
    name: 'gpt_neox (layernorm/pre/gelu/rope, untied)',
    className: 'GPTNeoXForCausalLM',
    config: { ...base, norm: { kind: 'layernorm' }, ffn: { kind: 'gelu' }, tieEmbeddings: false, bias: true },
  },
  {
    name: 'gpt_neox, tied, no biases',
    className: 'GPTNeoXForCausalLM',
    config: { ...base, norm: { kind: 'layernorm', bias: false }, ffn: { kind: 'gelu' } },
  },
];

/** A model whose every parameter is random (biases and gains too), so a misplaced tensor cannot hide. */
function randomModel(config: ModelConfigInput, seed: number): DecoderLM {
  const m = new DecoderLM(config, { seed });
  const rng = new Rng(seed + 100);
  for (const [name, p] of m.namedParameters()) {
    const gain = /norm.*weight$/i.test(name) || /Norm\.weight$/.test(name);
    const values = new Float32Array(p.size).map(() => (gain ? 1 + 0.3 * rng.normal() : 0.3 * rng.normal()));
    p.setValues(values);
  }
  return m;
}

function referenceLogits(folder: string, ids: number[][]): { shape: number[]; logits: number[] } {
  const r = spawnSync(python, [reference, folder], {
    input: JSON.stringify({ ids }),
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(`hf_reference.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe.skipIf(skip !== null && process.env.CI !== 'true')('exported folders against PyTorch', () => {
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const ids = [vocab.encode('the quick br'), vocab.encode('lazy dog.\nth')].map((r) => Array.from(r));

  RECIPES.forEach(({ name, className, config }, i) => {
    it(`${name}: ${className} logits equal DecoderLM's; import -> export gives the same bytes`, async () => {
      expect(skip, 'CI=true: python3-torch must be installed (.ci/run installs it)').toBeNull();
      const model = randomModel(config, 10 + i);
      const exported = exportHf({ config: model.config, weights: await weightsOf(model) }, vocab);
      expect(exported.className).toBe(className);
      const folder = join(work, `recipe-${i}`);
      rmSync(folder, { recursive: true, force: true });
      const { mkdirSync } = await import('node:fs');
      mkdirSync(folder, { recursive: true });
      for (const [file, bytes] of exported.files) writeFileSync(join(folder, file), bytes);

      const ref = referenceLogits(folder, ids);
      const ours = model.forward(tensor(Int32Array.from(ids.flat()), [2, 12], { dtype: 'int32' })).dataSync();
      expect(ref.shape).toEqual([2, 12, vocab.size]);
      let maxDiff = 0;
      let maxRef = 0;
      for (let j = 0; j < ours.length; j++) {
        maxDiff = Math.max(maxDiff, Math.abs(ours[j]! - ref.logits[j]!));
        maxRef = Math.max(maxRef, Math.abs(ref.logits[j]!));
      }
      expect(maxRef).toBeGreaterThan(1);
      expect(maxDiff / maxRef, `max |ours - torch| ${maxDiff} of max |logit| ${maxRef}`).toBeLessThan(1e-4);

      const imported = importHf(exported.files);
      expect(imported.modelType).toBe(exported.modelType);
      expect(imported.vocab?.toJSON()).toEqual(vocab.toJSON());
      const again = exportHf({ config: imported.config, weights: await weightsOf(imported.model) }, imported.vocab);
      expect([...again.files.keys()]).toEqual([...exported.files.keys()]);
      for (const [file, bytes] of exported.files) {
        expect(Buffer.compare(Buffer.from(again.files.get(file)!), Buffer.from(bytes)), file).toBe(0);
      }
    });
  });
});
