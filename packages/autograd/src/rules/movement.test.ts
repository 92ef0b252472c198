import * as t from '@tinyformer/tensor';
import { describe, expect, it } from 'vitest';
import { assertGradcheck, backward, type GradcheckInput } from '../index.js';

function inp(shape: number[], seed: number): GradcheckInput {
  const rng = new t.Rng(seed);
  return { values: Float64Array.from({ length: t.sizeOf(shape) }, () => rng.uniform() * 2 - 1), shape };
}

describe('movement backward rules', () => {
  it('reshape (including -1 and views of views)', () => {
    assertGradcheck((x) => x.reshape([3, 4]), [inp([2, 6], 1)]);
    assertGradcheck(
      (x) =>
        x
          .reshape([-1])
          .reshape([2, 2, 3])
          .mul(x.reshape([2, 2, 3])),
      [inp([4, 3], 2)],
    );
    assertGradcheck((x) => t.unsqueeze(t.squeeze(x, 1), 0), [inp([3, 1, 2], 3)]);
  });

  it('permute for several permutations, and transpose', () => {
    for (const perm of [
      [1, 0, 2],
      [2, 0, 1],
      [1, 2, 0],
      [2, 1, 0],
    ]) {
      assertGradcheck((x) => t.permute(x, perm), [inp([2, 3, 4], perm[0]!)]);
    }
    assertGradcheck((x) => x.transpose(), [inp([2, 3, 4], 5)]);
    assertGradcheck((x) => x.transpose(0, 2).mul(x.transpose(0, 2)), [inp([2, 3, 2], 6)]);
  });

  it('slice (gradient is zero outside the box) and pad', () => {
    assertGradcheck((x) => x.slice([1, 0, 1], [1, 2, 2]), [inp([2, 3, 4], 7)]);
    assertGradcheck((x) => x.slice([0, 2]), [inp([3, 5], 8)]);
    assertGradcheck((x) => t.padTo(x, [1, 2], [4, 6]), [inp([2, 3], 9)]);
    assertGradcheck((x) => t.padTo(x.slice([1, 1], [2, 2]), [0, 1], [3, 3]), [inp([3, 4], 10)]);
  });

  it('concat along each axis, with a tensor used twice', () => {
    assertGradcheck((a, b) => t.concat([a, b, a], 0), [inp([2, 3], 11), inp([1, 3], 12)]);
    assertGradcheck((a, b) => t.concat([a, b], 1), [inp([2, 3], 13), inp([2, 2], 14)]);
    assertGradcheck((a, b) => t.concat([b, a], -1), [inp([2, 2, 1], 15), inp([2, 2, 3], 16)]);
  });

  it('split into equal and uneven parts, each used differently', () => {
    assertGradcheck(
      (x) => {
        const [p, q, r] = t.split(x, [1, 2, 1], 1);
        return t.concat([q!.mul(3), r!.square(), p!.exp()], 1);
      },
      [inp([2, 4], 17)],
    );
    assertGradcheck(
      (x) => {
        const [p, q] = t.split(x, 2, 0);
        return t.mul(p!, q!);
      },
      [inp([4, 3], 18)],
    );
  });

  it('broadcastTo sums the gradient back over new and size-1 dims', () => {
    assertGradcheck((x) => x.broadcastTo([2, 3, 4]), [inp([3, 1], 19)]);
    assertGradcheck((x) => x.broadcastTo([2, 2]), [inp([], 20)]);
  });

  it('an unused slice of the input gets exactly zero gradient', () => {
    const x = t.ones([4], { backend: new t.CpuBackend() });
    x.requiresGrad = true;
    backward(x.slice([1], [2]).sum());
    expect(Array.from(x.grad!.dataSync())).toEqual([0, 1, 1, 0]);
  });
});
