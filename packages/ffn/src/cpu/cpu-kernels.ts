import { CpuBackend, type CpuStorage, registerKernel, type Tensor } from '@tinyformer/tensor';
import { swigluBackwardOp, swigluOp } from '../swiglu.js';
import { swigluBackwardKernel, swigluKernel } from './swiglu-kernels.js';

/** SwiGLU's CPU kernels: the wasm SIMD routines in the arena, the TS kernels otherwise. */

const st = (t: Tensor) => t.storage as CpuStorage;

registerKernel(swigluOp, CpuBackend, (be, [a, b]) => {
  const size = a!.size;
  const out = be.alloc(size);
  const ar = be.inArena(out, st(a!), st(b!));
  if (ar) ar.parallel('swiglu', st(a!).ptr, st(b!).ptr, out.ptr, size);
  else swigluKernel(be.array(st(a!)), be.array(st(b!)), out.data, size);
  return { outputs: [out] };
});

registerKernel(swigluBackwardOp, CpuBackend, (be, [a, b, dy]) => {
  const size = a!.size;
  const da = be.alloc(size);
  const db = be.alloc(size);
  const ar = be.inArena(da, db, st(a!), st(b!), st(dy!));
  if (ar) ar.parallel('swigluBackward', st(a!).ptr, st(b!).ptr, st(dy!).ptr, da.ptr, db.ptr, size);
  else swigluBackwardKernel(be.array(st(a!)), be.array(st(b!)), be.array(st(dy!)), da.data, db.data, size);
  return { outputs: [da, db] };
});
