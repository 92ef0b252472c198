import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveModelConfig } from './config.js';
import { DecoderLM } from './decoder-lm.js';

const base = { vocabSize: 10, contextLength: 8, dModel: 8, nLayers: 1, nHeads: 2 };

/** The ConfigError thrown for `input` (fails the test when none is thrown). */
function configError(input: unknown): ConfigError {
  try {
    resolveModelConfig(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  return expect.fail(`expected ${JSON.stringify(input)} to be refused`);
}

describe('resolveModelConfig defaults', () => {
  it('fills pre-norm RMSNorm, SwiGLU, RoPE, tied embeddings, final norm', () => {
    const c = resolveModelConfig(base);
    expect(c).toEqual({
      ...base,
      norm: { kind: 'rmsnorm', placement: 'pre', eps: 1e-5, affine: true, bias: true },
      ffn: { kind: 'swiglu' },
      positional: 'rope',
      tieEmbeddings: true,
      finalNorm: true,
      qkNorm: false,
      bias: false,
      ropeBase: 10000,
    });
  });

  it('fills defaults inside a partially given norm / ffn', () => {
    const c = resolveModelConfig({ ...base, norm: { kind: 'layernorm' }, ffn: { hiddenDim: 12 } });
    expect(c.norm).toEqual({ kind: 'layernorm', placement: 'pre', eps: 1e-5, affine: true, bias: true });
    expect(c.ffn).toEqual({ kind: 'swiglu', hiddenDim: 12 });
  });

  it('finalNorm defaults to true for pre-norm and false for post-norm; explicit false is kept', () => {
    expect(resolveModelConfig({ ...base, norm: { placement: 'post' } }).finalNorm).toBe(false);
    expect(resolveModelConfig({ ...base, finalNorm: false }).finalNorm).toBe(false);
    expect(resolveModelConfig({ ...base, norm: { placement: 'post' }, finalNorm: false }).finalNorm).toBe(false);
  });

  it('is idempotent: a resolved config resolves to itself (checkpoints store the resolved one)', () => {
    fc.assert(
      fc.property(
        fc.record({
          kind: fc.constantFrom('rmsnorm', 'layernorm', 'none'),
          placement: fc.constantFrom('pre', 'post'),
          ffn: fc.constantFrom('swiglu', 'gelu'),
          positional: fc.constantFrom('rope', 'learned'),
          tie: fc.boolean(),
        }),
        ({ kind, placement, ffn, positional, tie }) => {
          const c = resolveModelConfig({
            ...base,
            norm: { kind, placement },
            ffn: { kind: ffn },
            positional,
            tieEmbeddings: tie,
          });
          expect(resolveModelConfig(JSON.parse(JSON.stringify(c)))).toEqual(c);
        },
      ),
      { numRuns: 30, seed: 3 },
    );
  });
});

describe('config errors name the field path and the allowed values', () => {
  it('an unknown field', () => {
    const e = configError({ ...base, dmodel: 8 });
    expect(e.issues).toEqual([{ path: 'dmodel', message: 'unknown field "dmodel"' }]);
    expect(e.message).toBe('invalid model config:\n  - dmodel: unknown field "dmodel"');
  });

  it('an unknown nested field names its full path', () => {
    const e = configError({ ...base, norm: { kind: 'rmsnorm', epsilon: 1e-6 } });
    expect(e.issues).toEqual([{ path: 'norm.epsilon', message: 'unknown field "epsilon"' }]);
    expect(e.message).toContain('norm.epsilon: unknown field "epsilon"');
  });

  it('a wrong type', () => {
    const e = configError({ ...base, vocabSize: '10' });
    expect(e.issues).toHaveLength(1);
    expect(e.issues[0]!.path).toBe('vocabSize');
    expect(e.message).toMatch(/vocabSize: .*expected number, received string/);
    expect(configError({ ...base, tieEmbeddings: 'yes' }).message).toMatch(/tieEmbeddings: .*expected boolean/);
    expect(configError({ ...base, nLayers: 1.5 }).message).toMatch(/nLayers: .*int/);
  });

  it('a missing required field', () => {
    const { dModel: _, ...rest } = base;
    expect(configError(rest).message).toMatch(/dModel: .*expected number, received undefined/);
  });

  it('not an object at all', () => {
    expect(configError(null).message).toMatch(/\(root\): .*expected object/);
  });

  it('dModel not divisible by nHeads', () => {
    const e = configError({ ...base, dModel: 10, nHeads: 4 });
    expect(e.issues).toEqual([{ path: 'nHeads', message: 'dModel 10 must be divisible by nHeads 4' }]);
  });

  it('an odd head dim with rope (allowed with learned positions)', () => {
    expect(configError({ ...base, dModel: 6, nHeads: 2 }).message).toContain(
      'positional: rope needs an even head dim, got dModel/nHeads = 3',
    );
    expect(resolveModelConfig({ ...base, dModel: 6, nHeads: 2, positional: 'learned' }).dModel).toBe(6);
  });

  it('contextLength <= 0 (and other non-positive sizes)', () => {
    for (const v of [0, -4]) {
      const e = configError({ ...base, contextLength: v });
      expect(e.issues[0]!.path).toBe('contextLength');
      expect(e.message).toMatch(/contextLength: .*>0/);
    }
    expect(configError({ ...base, vocabSize: 0 }).issues[0]!.path).toBe('vocabSize');
    expect(configError({ ...base, norm: { eps: 0 } }).issues[0]!.path).toBe('norm.eps');
  });

  it('a misspelled norm kind lists the allowed kinds', () => {
    const e = configError({ ...base, norm: { kind: 'rmsnrom' } });
    expect(e.issues[0]!.path).toBe('norm.kind');
    for (const allowed of ['rmsnorm', 'layernorm', 'none']) expect(e.message).toContain(`"${allowed}"`);
    expect(e.message).toBe(
      'invalid model config:\n  - norm.kind: must be one of "rmsnorm" | "layernorm" | "none", got "rmsnrom"',
    );
  });

  it('a misspelled placement lists the allowed placements', () => {
    const e = configError({ ...base, norm: { placement: 'prenorm' } });
    expect(e.issues[0]!.path).toBe('norm.placement');
    expect(e.message).toContain('"pre"');
    expect(e.message).toContain('"post"');
  });

  it('misspelled ffn kind and positional list theirs', () => {
    expect(configError({ ...base, ffn: { kind: 'relu' } }).message).toMatch(/ffn\.kind: .*"swiglu".*"gelu"/);
    expect(configError({ ...base, positional: 'alibi' }).message).toMatch(/positional: .*"rope".*"learned"/);
  });

  it('post-norm with finalNorm true is contradictory', () => {
    const e = configError({ ...base, norm: { placement: 'post' }, finalNorm: true });
    expect(e.issues).toHaveLength(1);
    expect(e.issues[0]!.path).toBe('finalNorm');
    expect(e.message).toContain('finalNorm must be false with norm.placement "post"');
  });

  it('qkNorm with norm kind none', () => {
    expect(configError({ ...base, norm: { kind: 'none' }, qkNorm: true }).issues[0]!.path).toBe('qkNorm');
  });

  it('nKvHeads must divide nHeads; left out, it stays out of the resolved config (multi-head checkpoints keep their bytes)', () => {
    const e = configError({ ...base, nHeads: 4, nKvHeads: 3 });
    expect(e.issues[0]!.path).toBe('nKvHeads');
    expect(e.message).toContain('nKvHeads 3 must divide nHeads 4');
    expect('nKvHeads' in resolveModelConfig(base)).toBe(false);
    expect(resolveModelConfig({ ...base, nHeads: 4, nKvHeads: 2 }).nKvHeads).toBe(2);
  });

  it('reports every problem at once', () => {
    const e = configError({ ...base, vocabSize: -1, norm: { kind: 'batch' }, extra: true });
    expect(e.issues.map((i) => i.path).sort()).toEqual(['extra', 'norm.kind', 'vocabSize']);
  });

  it('DecoderLM refuses a bad config with the same ConfigError', () => {
    expect(() => new DecoderLM({ ...base, nHeads: 3 })).toThrow(ConfigError);
    expect(() => new DecoderLM({ ...base, nHeads: 3 })).toThrow(/nHeads: dModel 8 must be divisible by nHeads 3/);
  });

  it('names where the config came from', () => {
    try {
      resolveModelConfig({ ...base, foo: 1 }, 'config in run.json');
      expect.fail('should throw');
    } catch (e) {
      expect((e as Error).message).toMatch(/^invalid config in run\.json:/);
    }
  });
});
