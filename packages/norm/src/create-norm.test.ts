import { backward } from '@tinyformer/autograd';
import { randn, TensorError, tensor } from '@tinyformer/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createNorm, DEFAULT_EPS, type NormConfig, normKind, normKinds, registerNormKind } from './kinds.js';
import { Identity, LayerNorm, RMSNorm } from './layers.js';
import { layerNorm, rmsNorm } from './ops.js';

describe('createNorm builds each kind from config', () => {
  const cases: { config: NormConfig; cls: unknown; kind: string; params: (d: number) => string[] }[] = [
    { config: { kind: 'rmsnorm' }, cls: RMSNorm, kind: 'rmsnorm', params: () => ['weight'] },
    { config: { kind: 'rmsnorm', affine: false }, cls: RMSNorm, kind: 'rmsnorm', params: () => [] },
    { config: { kind: 'layernorm' }, cls: LayerNorm, kind: 'layernorm', params: () => ['weight', 'bias'] },
    { config: { kind: 'layernorm', bias: false }, cls: LayerNorm, kind: 'layernorm', params: () => ['weight'] },
    { config: { kind: 'layernorm', affine: false }, cls: LayerNorm, kind: 'layernorm', params: () => [] },
    { config: { kind: 'layernorm', affine: false, bias: true }, cls: LayerNorm, kind: 'layernorm', params: () => [] },
    { config: { kind: 'none' }, cls: Identity, kind: 'none', params: () => [] },
  ];
  for (const { config, cls, kind, params } of cases) {
    it(`${JSON.stringify(config)}: ${kind}, parameters [${params(0).join(', ')}]`, () => {
      const d = 6;
      const n = createNorm(config, d);
      expect(n).toBeInstanceOf(cls);
      expect(n.kind).toBe(kind);
      expect(n.namedParameters().map(([name]) => name)).toEqual(params(d));
      expect(n.parameterCount()).toBe(params(d).length * d);
      for (const [, p] of n.namedParameters()) expect(p.shape).toEqual([d]);
    });
  }

  it('initializes the scale to 1 and the shift to 0 (the layer starts as the plain norm)', () => {
    const ln = createNorm({ kind: 'layernorm' }, 4) as LayerNorm;
    expect(Array.from(ln.weight!.dataSync())).toEqual([1, 1, 1, 1]);
    expect(Array.from(ln.bias!.dataSync())).toEqual([0, 0, 0, 0]);
    const rms = createNorm({ kind: 'rmsnorm' }, 4) as RMSNorm;
    expect(Array.from(rms.weight!.dataSync())).toEqual([1, 1, 1, 1]);
    const x = randn([3, 4], { seed: 1 });
    expect(Array.from(ln.forward(x).dataSync())).toEqual(Array.from(layerNorm(x, null, null, DEFAULT_EPS).dataSync()));
    expect(Array.from(rms.forward(x).dataSync())).toEqual(Array.from(rmsNorm(x, null, DEFAULT_EPS).dataSync()));
  });

  it('passes eps through (default 1e-5) and the layer uses it', () => {
    expect(DEFAULT_EPS).toBe(1e-5);
    expect((createNorm({ kind: 'rmsnorm' }, 3) as RMSNorm).eps).toBe(1e-5);
    expect((createNorm({ kind: 'layernorm' }, 3) as LayerNorm).eps).toBe(1e-5);
    const r = createNorm({ kind: 'rmsnorm', eps: 0.75, affine: false }, 2);
    const l = createNorm({ kind: 'layernorm', eps: 0.75, affine: false }, 2);
    expect((r as RMSNorm).eps).toBe(0.75);
    expect((l as LayerNorm).eps).toBe(0.75);
    const x = tensor([1, -1], [1, 2]); // mean square 1, mean 0, variance 1
    const y = 1 / Math.sqrt(1.75);
    for (const out of [r.forward(x), l.forward(x)]) {
      const v = out.dataSync();
      expect(v[0]).toBeCloseTo(y, 6);
      expect(v[1]).toBeCloseTo(-y, 6);
    }
  });

  it('none is the identity (returns its input, no parameters)', () => {
    const n = createNorm({ kind: 'none' }, 5);
    const x = randn([2, 5], { seed: 3 });
    expect(n.forward(x)).toBe(x);
    expect(n.parameters()).toEqual([]);
  });

  it("the layers' parameters receive gradients", () => {
    const ln = createNorm({ kind: 'layernorm' }, 4) as LayerNorm;
    const x = randn([2, 3, 4], { seed: 4 });
    backward(
      ln
        .forward(x)
        .mul(randn([2, 3, 4], { seed: 5 }))
        .sum(),
    );
    expect(ln.weight!.grad?.shape).toEqual([4]);
    expect(ln.bias!.grad?.shape).toEqual([4]);
    expect(ln.weight!.grad!.dataSync().some((v) => v !== 0)).toBe(true);
  });

  it('normKinds() lists every kind createNorm accepts', () => {
    expect([...normKinds()].sort()).toEqual(['layernorm', 'none', 'rmsnorm']);
    for (const kind of normKinds()) expect(createNorm({ kind } as NormConfig, 2).kind).toBe(kind);
  });
});

describe('bad configs throw clear errors', () => {
  it('an unknown kind names the kind and the allowed ones', () => {
    const bad = { kind: 'batchnorm' } as unknown as NormConfig;
    expect(() => createNorm(bad, 4)).toThrow(TensorError);
    expect(() => createNorm(bad, 4)).toThrow(/unknown norm kind "batchnorm"; allowed: rmsnorm, layernorm, none/);
  });

  for (const kind of ['rmsnorm', 'layernorm'] as const) {
    const name = kind === 'rmsnorm' ? 'RMSNorm' : 'LayerNorm';
    it(`${kind}: eps <= 0 or not finite is refused, naming eps and the value`, () => {
      for (const eps of [0, -1e-5, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(() => createNorm({ kind, eps }, 4)).toThrow(
          new RegExp(`^${name}: eps must be a positive finite number, got ${String(eps).replace('-', '\\-')}$`),
        );
      }
    });

    it(`${kind}: a bad dim is refused`, () => {
      for (const d of [0, -3, 2.5]) expect(() => createNorm({ kind }, d)).toThrow(/dim must be a positive integer/);
    });

    it(`${kind}: an input with the wrong feature count is refused at forward, naming both`, () => {
      const n = createNorm({ kind }, 4);
      expect(() => n.forward(randn([2, 3]))).toThrow(`${name}: input [2,3] must end in 4 features`);
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 9 }).filter((d) => d !== 4),
          (d) => {
            expect(() => n.forward(randn([1, d]))).toThrow(/must end in 4 features/);
          },
        ),
        { numRuns: 10 },
      );
    });
  }

  it('the fused ops check the scale and shift shapes', () => {
    const x = randn([2, 4]);
    expect(() => rmsNorm(x, randn([3]), 1e-5)).toThrow('rmsnorm: scale [3] must be [4] for input [2,4]');
    expect(() => layerNorm(x, null, randn([4, 1]), 1e-5)).toThrow('layernorm: shift [4,1] must be [4] for input [2,4]');
    expect(() => rmsNorm(tensor(3), null, 1e-5)).toThrow(/must have a feature axis/);
    expect(() => layerNorm(randn([2, 0]), null, null, 1e-5)).toThrow(/empty feature axis/);
  });
});

describe('registerNormKind', () => {
  it('adds a kind that createNorm builds and normKinds lists, and removes it again', () => {
    const remove = registerNormKind({
      kind: 'scaled-identity',
      description: 'x * 2 (a test kind)',
      create: () => new Identity(),
    });
    try {
      expect(normKinds()).toContain('scaled-identity');
      expect(normKind('scaled-identity')?.description).toBe('x * 2 (a test kind)');
      expect(createNorm({ kind: 'scaled-identity' }, 4)).toBeInstanceOf(Identity);
    } finally {
      remove();
    }
    expect(normKinds()).not.toContain('scaled-identity');
    expect(() => createNorm({ kind: 'scaled-identity' }, 4)).toThrow(/unknown norm kind "scaled-identity"/);
  });

  it('refuses a kind name that a config or a CLI flag could not carry', () => {
    expect(() => registerNormKind({ kind: 'Bad Kind', description: '', create: () => new Identity() })).toThrow(
      'registerNormKind: kind "Bad Kind" must match /^[a-z][a-z0-9_-]*$/',
    );
  });
});
