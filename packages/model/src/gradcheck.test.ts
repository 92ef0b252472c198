import { assertGradcheck, type GradcheckInput, gradcheck } from '@tinyformer/autograd';
import { crossEntropy, matmul, type Tensor, tensor } from '@tinyformer/tensor';
import { describe, expect, it } from 'vitest';
import type { ModelConfigInput } from './config.js';
import { DecoderLM } from './decoder-lm.js';

/**
 * gradcheck runs fn on its own float64 CPU backend (it is the default backend while fn runs), so the model is
 * built inside fn, where its parameters land on that backend. The parameters under test are then swapped for
 * gradcheck's input tensors, so the loss is a function of them and their analytic gradient is what backward
 * computes for the parameter. Every call builds the same model (fixed seed).
 */
const SEED = 3;
/** std 0.02 makes every gradient tiny (and the check weak); scale the matrices to std ~0.3 */
const SCALE = 15;

function build(config: ModelConfigInput): DecoderLM {
  const m = new DecoderLM(config, { seed: SEED });
  for (const p of m.parameters()) {
    if (p.rank === 2) p.setValues(p.dataSync().map((v) => v * SCALE));
    // non-trivial gains and shifts, so their gradients are checked away from the init point
    else p.setValues(p.dataSync().map((v, i) => v + 0.1 * Math.sin(3 * i + p.size)));
  }
  return m;
}

/** Replaces the tensor at a dotted parameter path ('blocks.0.attn.qkv.weight') on the model object. */
function swap(m: DecoderLM, path: string, t: Tensor): void {
  const segs = path.split('.');
  let obj: Record<string, unknown> = m as unknown as Record<string, unknown>;
  for (const s of segs.slice(0, -1)) obj = obj[s] as Record<string, unknown>;
  const last = segs[segs.length - 1]!;
  expect(obj[last], path).toBeDefined();
  obj[last] = t;
}

function paramInputs(config: ModelConfigInput, paths: string[]): GradcheckInput[] {
  const m = build(config);
  const byName = new Map(m.namedParameters());
  return paths.map((p) => {
    const t = byName.get(p);
    if (!t) throw new Error(`no parameter ${p}`);
    return { values: t.dataSync(), shape: [...t.shape] };
  });
}

const ids = [
  [1, 3, 0, 4],
  [2, 2, 4, 1],
];
const targets = [
  [3, 0, 4, 2],
  [2, 4, 1, 0],
];
const idsT = () => tensor(Int32Array.from(ids.flat()), [2, 4]);
const targetsT = () => tensor(Int32Array.from(targets.flat()), [2, 4]);

const tiny = { vocabSize: 5, contextLength: 4, dModel: 4, nLayers: 2, nHeads: 2, ffn: { hiddenDim: 8 } } as const;

const CASES: { name: string; config: ModelConfigInput; params: string[] }[] = [
  {
    name: 'defaults (pre RMSNorm, SwiGLU, RoPE, tied)',
    config: tiny,
    params: [
      'wte.weight', // tied: gathers and the LM head both feed its gradient
      'blocks.0.attn.qkv.weight',
      'blocks.1.ffn.w2.weight',
      'blocks.0.norm1.weight',
      'finalNorm.weight',
    ],
  },
  {
    name: 'post LayerNorm, GELU, learned, untied, bias, QK-norm',
    config: {
      ...tiny,
      norm: { kind: 'layernorm', placement: 'post' },
      ffn: { kind: 'gelu', hiddenDim: 8 },
      positional: 'learned',
      tieEmbeddings: false,
      bias: true,
      qkNorm: true,
    },
    params: [
      'wpe',
      'lmHead',
      'blocks.0.attn.proj.bias',
      'blocks.0.attn.qNorm.weight',
      'blocks.1.norm2.bias',
      'blocks.0.ffn.fc.weight',
    ],
  },
];

describe('gradcheck of a whole tiny DecoderLM loss (float64)', () => {
  for (const { name, config, params } of CASES) {
    it(`${name}: w.r.t. ${params.join(', ')}`, () => {
      const r = assertGradcheck(
        (...ws) => {
          const m = build(config);
          params.forEach((p, i) => {
            swap(m, p, ws[i]!);
          });
          return m.loss(idsT(), targetsT());
        },
        paramInputs(config, params),
      );
      // float64 central differences agree to ~1e-10 here; gradients are ~1e-2, so this is far tighter than atol
      expect(r.maxAbsError).toBeLessThan(1e-7);
    });

    it(`${name}: w.r.t. the embedded input, through every block (custom forward)`, () => {
      const forward = (x: Tensor) => {
        const m = build(config);
        let h = x;
        for (const b of m.blocks) h = b.forward(h);
        if (m.finalNorm) h = m.finalNorm.forward(h);
        const logits = matmul(h.reshape([8, 4]), m.lmHead ?? m.wte.weight, { transB: true });
        return crossEntropy(logits, targetsT().reshape([8]));
      };
      const x = { values: Float64Array.from({ length: 32 }, (_, i) => Math.sin(i * 1.7) * 0.8), shape: [2, 4, 4] };
      assertGradcheck(forward, [x]);
    });
  }

  it('the harness detects a wrong gradient (a parameter swapped in only on the forward path)', () => {
    // the swapped tensor is detached from the graph, so the analytic gradient is zero but the numeric one is not
    const r = gradcheck(
      (w) => {
        const m = build(tiny);
        swap(m, 'blocks.0.attn.qkv.weight', w.view(w.shape));
        return m.loss(idsT(), targetsT());
      },
      paramInputs(tiny, ['blocks.0.attn.qkv.weight']),
    );
    expect(r.ok).toBe(false);
    expect(r.maxAbsError).toBeGreaterThan(1e-3);
  });
});
