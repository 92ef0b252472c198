import { layernormBackwardOp, layernormOp, normInputs, rmsnormBackwardOp, rmsnormOp } from '@tinyformer/norm';
import {
  crossEntropyBackwardOp,
  crossEntropyOp,
  registerKernel,
  type SoftmaxParams,
  softmaxBackwardOp,
  softmaxOp,
  softmaxParams,
  type Tensor,
} from '@tinyformer/tensor';
import { GpuBackend, type GpuStorage } from './gpu-backend.js';

/**
 * The WebGPU kernels of ops defined elsewhere: softmax and cross-entropy (@tinyformer/tensor), RMSNorm and LayerNorm
 * (@tinyformer/norm). This package depends on the op packages it accelerates, as tfjs's backends depend on
 * tfjs-core: the op packages stay free of gpu.js, and every arrow points down. Ops without a GPU kernel here (RoPE,
 * head split/merge, SwiGLU, unaryMul) run as their composites of primitives on this backend.
 */

const st = (t: Tensor) => t.storage as GpuStorage;

const rowsOf = (x: Tensor) => {
  const dim = x.shape[x.rank - 1]!;
  return { dim, rows: dim === 0 ? 0 : x.size / dim };
};

const params = (x: Tensor, a: { log: boolean; causal: boolean }): SoftmaxParams =>
  softmaxParams('softmax', x, a.causal, a.log);

registerKernel(softmaxOp, GpuBackend, (b, [x], a) => ({ outputs: [b.softmaxKernel(st(x!), params(x!, a))] }));

registerKernel(softmaxBackwardOp, GpuBackend, (b, [y, dy], a) => ({
  outputs: [b.softmaxBackwardKernel(st(y!), st(dy!), params(y!, a))],
}));

registerKernel(crossEntropyOp, GpuBackend, (b, [logits, targets]) => {
  const { rows, dim } = rowsOf(logits!);
  return { outputs: [b.crossEntropyKernel(st(logits!), st(targets!), rows, dim)] };
});

registerKernel(crossEntropyBackwardOp, GpuBackend, (b, [logits, targets, dLoss]) => {
  const { rows, dim } = rowsOf(logits!);
  return { outputs: [b.crossEntropyBackwardKernel(st(logits!), st(targets!), st(dLoss!), rows, dim)] };
});

registerKernel(rmsnormOp, GpuBackend, (b, inputs, attrs) => {
  const { x, g } = normInputs(inputs, attrs);
  const r = b.normForward(st(x), g ? st(g) : null, null, { ...rowsOf(x), eps: attrs.eps }, false);
  return { outputs: [r.y], saved: [r.rstd] };
});

registerKernel(rmsnormBackwardOp, GpuBackend, (b, inputs, { hasScale }) => {
  const [dy, x] = inputs as [Tensor, Tensor];
  const g = hasScale ? inputs[2]! : null;
  const rstd = inputs[hasScale ? 3 : 2]!;
  const { rows, dim } = rowsOf(x);
  const r = b.normBackward(st(dy), st(x), g ? st(g) : null, null, st(rstd), rows, dim, false);
  return { outputs: r.dg ? [r.dx, r.dg] : [r.dx] };
});

registerKernel(layernormOp, GpuBackend, (b, inputs, attrs) => {
  const { x, g, b: shift } = normInputs(inputs, attrs);
  const p = { ...rowsOf(x), eps: attrs.eps };
  const r = b.normForward(st(x), g ? st(g) : null, shift ? st(shift) : null, p, true);
  return { outputs: [r.y], saved: [r.mean!, r.rstd] };
});

registerKernel(layernormBackwardOp, GpuBackend, (b, inputs, { hasScale, hasShift }) => {
  const [dy, x] = inputs as [Tensor, Tensor];
  const g = hasScale ? inputs[2]! : null;
  const [mean, rstd] = inputs.slice(hasScale ? 3 : 2) as [Tensor, Tensor];
  const { rows, dim } = rowsOf(x);
  const r = b.normBackward(st(dy), st(x), g ? st(g) : null, st(mean), st(rstd), rows, dim, hasShift);
  const outputs = [r.dx];
  if (r.dg) outputs.push(r.dg);
  if (r.db) outputs.push(r.db);
  return { outputs };
});
