/** Ops through the public tensor API on this backend: a small MLP forward and backward against the CPU. */
import { backward, Parameter } from '@tinyformer/autograd';
import {
  type Backend,
  CpuBackend,
  concat,
  crossEntropy,
  gather,
  matmul,
  Rng,
  slice,
  softmax,
  tensor,
  tidy,
} from '@tinyformer/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { inCI, setUpGpu } from '../test/gpu-setup.js';

const { backend: gpu, error } = await setUpGpu('tensor-api');
afterAll(async () => {
  await gpu?.destroy();
});

it.runIf(inCI)('has a WebGPU adapter under CI', () => {
  expect(error).toBeNull();
});

function randomValues(seed: number, n: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => (rng.uniform() * 2 - 1) * scale);
}

function expectNear(got: Float32Array, want: Float32Array, atol: number): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  expect(worst).toBeLessThanOrEqual(atol);
}

/** embedding -> Linear -> GELU -> Linear (+bias) -> cross-entropy, then backward; returns loss and grads. */
async function mlpStep(backend: Backend): Promise<{ loss: number; grads: Float32Array[]; live: number }> {
  const V = 11;
  const D = 16;
  const H = 32;
  const N = 24;
  const mk = (name: string, values: Float32Array, shape: number[]) => {
    const init = tensor(values, shape, { backend });
    const p = new Parameter(init, name);
    init.dispose(); // the parameter shares the storage and keeps it alive
    return p;
  };
  const emb = mk('emb', randomValues(1, V * D, 0.5), [V, D]);
  const w1 = mk('w1', randomValues(2, H * D, 0.3), [H, D]);
  const b1 = mk('b1', randomValues(3, H, 0.1), [H]);
  const w2 = mk('w2', randomValues(4, V * H, 0.3), [V, H]);
  const b2 = mk('b2', randomValues(5, V, 0.1), [V]);
  const ids = tensor(
    Int32Array.from({ length: N }, (_, i) => (i * 7) % V),
    [N],
    { backend },
  );
  const targets = tensor(
    Int32Array.from({ length: N }, (_, i) => (i * 5 + 3) % V),
    [N],
    { backend },
  );
  const params = [emb, w1, b1, w2, b2];
  const loss = tidy(() => {
    const x = gather(emb, ids);
    const h = matmul(x, w1, { transB: true }).add(b1).gelu();
    const logits = matmul(h, w2, { transB: true }).add(b2);
    const l = crossEntropy(logits, targets);
    backward(l);
    return l;
  });
  const value = await loss.item();
  const grads = await Promise.all(params.map((p) => p.grad!.data()));
  const live = backend.memory().buffers;
  for (const t of [loss, ids, targets, ...params]) {
    (t as Parameter).zeroGrad?.();
    t.dispose();
  }
  return { loss: value, grads, live };
}

describe.skipIf(!gpu)('tensor API on gpu.js:webgpu', () => {
  it('trains nothing but matches the CPU on an MLP forward and backward', async () => {
    const g = gpu!;
    const start = g.memory().buffers;
    const onGpu = await mlpStep(g);
    const onCpu = await mlpStep(new CpuBackend());
    expect(Math.abs(onGpu.loss - onCpu.loss)).toBeLessThan(1e-5);
    for (const [i, gr] of onGpu.grads.entries()) expectNear(gr, onCpu.grads[i]!, 2e-6);
    // 5 params + 5 grads + loss + ids + targets were alive before cleanup; nothing else leaked
    expect(onGpu.live - start).toBe(13);
    expect(g.memory().buffers).toBe(start);
  });

  it('runs movement ops and causal softmax through the API like the CPU', async () => {
    const run = async (backend: Backend) =>
      tidy(() => {
        const x = tensor(randomValues(9, 2 * 3 * 5 * 5), [2, 3, 5, 5], { backend });
        const p = x.permute([0, 2, 1, 3]);
        const s = slice(p, [0, 1, 0, 0], [2, 3, 3, 5]);
        const c = concat([s, s.mul(2)], 2);
        return softmax(c.reshape([2, 3, 6, 5]).transpose(2, 3).reshape([2, 3, 5, 6]), { causal: true });
      });
    const a = await run(gpu!);
    const b = await run(new CpuBackend());
    expect(a.shape).toEqual(b.shape);
    expectNear(await a.data(), await b.data(), 1e-6);
    a.dispose();
  });
});
