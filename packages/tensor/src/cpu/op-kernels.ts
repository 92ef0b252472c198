import { unaryMulOp } from '../ops/elementwise.js';
import { crossEntropyBackwardOp, crossEntropyOp, softmaxBackwardOp, softmaxOp, softmaxParams } from '../ops/nn.js';
import { registerKernel } from '../registry/op.js';
import { CpuBackend, type CpuStorage } from './cpu-backend.js';
import { checkTargets, crossEntropyBackwardKernel, crossEntropyKernel } from './kernels/cross-entropy.js';
import { unaryKernel } from './kernels/elementwise.js';
import { softmaxBackwardKernel, softmaxKernel } from './kernels/softmax.js';
import { wasmUnaryCode } from './wasm-unary-code.js';

/**
 * The CPU kernels of the ops this package owns (softmax, cross-entropy, unaryMul): wasm SIMD in the arena, the TS
 * kernels otherwise (ordinary arrays, float64 mode). Registered when the package is imported.
 */

const st = (t: { storage: object }) => t.storage as CpuStorage;

registerKernel(softmaxOp, CpuBackend, (b, [x], attrs) => {
  const p = softmaxParams('softmax', x!, attrs.causal, attrs.log);
  const out = b.alloc(p.rows * p.cols);
  const ar = b.inArena(out, st(x!));
  if (ar) ar.parallel('softmax', st(x!).ptr, out.ptr, p.rows, p.cols, p.causalQueryLen, p.log ? 1 : 0);
  else softmaxKernel(b.array(st(x!)), out.data, p);
  return { outputs: [out] };
});

registerKernel(softmaxBackwardOp, CpuBackend, (b, [y, dy], attrs) => {
  const p = softmaxParams('softmaxBackward', y!, attrs.causal, attrs.log);
  const out = b.alloc(p.rows * p.cols);
  const ar = b.inArena(out, st(y!), st(dy!));
  if (ar) {
    ar.parallel('softmaxBackward', st(y!).ptr, st(dy!).ptr, out.ptr, p.rows, p.cols, p.causalQueryLen, p.log ? 1 : 0);
  } else {
    softmaxBackwardKernel(b.array(st(y!)), b.array(st(dy!)), out.data, p);
  }
  return { outputs: [out] };
});

registerKernel(crossEntropyOp, CpuBackend, (b, [logits, targets]) => {
  const vocab = logits!.shape[logits!.rank - 1]!;
  const rows = logits!.size / vocab;
  const out = b.alloc(rows);
  try {
    const ar = b.inArena(out, st(logits!), st(targets!));
    if (ar && rows > 0) {
      checkTargets(b.array(st(targets!)), rows, vocab);
      ar.wasm.crossEntropy(st(logits!).ptr, st(targets!).ptr, out.ptr, rows, vocab);
    } else {
      crossEntropyKernel(b.array(st(logits!)), b.array(st(targets!)), out.data, rows, vocab);
    }
  } catch (e) {
    b.dispose(out);
    throw e;
  }
  return { outputs: [out] };
});

registerKernel(crossEntropyBackwardOp, CpuBackend, (b, [logits, targets, dLoss]) => {
  const vocab = logits!.shape[logits!.rank - 1]!;
  const rows = logits!.size / vocab;
  const out = b.alloc(rows * vocab);
  try {
    const ar = b.inArena(out, st(logits!), st(targets!), st(dLoss!));
    if (ar && rows > 0) {
      checkTargets(b.array(st(targets!)), rows, vocab);
      const dn = dLoss!.size === 1 ? 1 : rows;
      ar.wasm.crossEntropyBackward(st(logits!).ptr, st(targets!).ptr, st(dLoss!).ptr, dn, out.ptr, rows, vocab);
    } else {
      crossEntropyBackwardKernel(
        b.array(st(logits!)),
        b.array(st(targets!)),
        b.array(st(dLoss!)),
        out.data,
        rows,
        vocab,
      );
    }
  } catch (e) {
    b.dispose(out);
    throw e;
  }
  return { outputs: [out] };
});

registerKernel(unaryMulOp, CpuBackend, (b, [x, y], { op }) => {
  const size = x!.size;
  const out = b.alloc(size);
  const ar = b.inArena(out, st(x!), st(y!));
  const code = wasmUnaryCode(op);
  if (ar && code !== undefined) {
    ar.parallel('unaryMul', code, st(x!).ptr, st(y!).ptr, out.ptr, size);
  } else {
    unaryKernel(op, b.array(st(x!)), out.data, size);
    const yd = b.array(st(y!));
    const o = out.data;
    for (let i = 0; i < size; i++) o[i] = yd[i]! * o[i]!;
  }
  return { outputs: [out] };
});
