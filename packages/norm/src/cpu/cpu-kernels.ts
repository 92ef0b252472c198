import { CpuBackend, type CpuStorage, registerKernel, type Tensor } from '@tinyformer/tensor';
import { layernormBackwardOp, layernormOp, normInputs, rmsnormBackwardOp, rmsnormOp } from '../ops.js';
import {
  layernormBackwardKernel,
  layernormForwardKernel,
  rmsnormBackwardKernel,
  rmsnormForwardKernel,
} from './norm-kernels.js';

/**
 * The norm ops' CPU kernels: the wasm SIMD routines of the tensor package's kernel module when every tensor is in
 * the arena (one module shares one memory with the GEMM and its worker thread, so the routines are compiled there),
 * else the TS kernels of norm-kernels.ts (ordinary arrays, float64 mode).
 */

const st = (t: Tensor | null) => (t ? (t.storage as CpuStorage) : null);
const ptr = (s: CpuStorage | null) => (s ? s.ptr : 0);
const present = (...ss: (CpuStorage | null)[]) => ss.filter((s): s is CpuStorage => s !== null);

registerKernel(rmsnormOp, CpuBackend, (be, inputs, attrs) => {
  const { x, g } = normInputs(inputs, attrs);
  const dim = x.shape[x.rank - 1]!;
  const rows = x.size / dim;
  const [sx, sg] = [st(x)!, st(g)];
  const y = be.alloc(rows * dim);
  const rstd = be.alloc(rows);
  const ar = be.inArena(...present(y, rstd, sx, sg));
  if (ar) ar.parallel('rmsnormForward', sx.ptr, ptr(sg), y.ptr, rstd.ptr, rows, dim, attrs.eps);
  else rmsnormForwardKernel(be.array(sx), sg ? be.array(sg) : null, y.data, rstd.data, rows, dim, attrs.eps);
  return { outputs: [y], saved: [rstd] };
});

registerKernel(rmsnormBackwardOp, CpuBackend, (be, inputs, { hasScale }) => {
  const [dy, x] = [st(inputs[0]!)!, st(inputs[1]!)!];
  const g = hasScale ? st(inputs[2]!) : null;
  const rstd = st(inputs[hasScale ? 3 : 2]!)!;
  const dim = inputs[1]!.shape[inputs[1]!.rank - 1]!;
  const rows = inputs[1]!.size / dim;
  const dx = be.alloc(rows * dim);
  const dg = g ? be.alloc(dim) : null;
  const ar = be.inArena(...present(dx, dg, dy, x, g, rstd));
  const done =
    ar &&
    be.scratch(ar, 2 * Math.ceil(dim / 4) * 4, (acc) => {
      ar.wasm.rmsnormBackward(dy.ptr, x.ptr, ptr(g), rstd.ptr, dx.ptr, ptr(dg), acc, rows, dim);
      return true;
    });
  if (!done) {
    const [ddy, dxs, dr] = [be.array(dy), be.array(x), be.array(rstd)];
    rmsnormBackwardKernel(ddy, dxs, g ? be.array(g) : null, dr, dx.data, dg?.data ?? null, rows, dim);
  }
  return { outputs: dg ? [dx, dg] : [dx] };
});

registerKernel(layernormOp, CpuBackend, (be, inputs, attrs) => {
  const { x, g, b } = normInputs(inputs, attrs);
  const dim = x.shape[x.rank - 1]!;
  const rows = x.size / dim;
  const [sx, sg, sb] = [st(x)!, st(g), st(b)];
  const y = be.alloc(rows * dim);
  const mean = be.alloc(rows);
  const rstd = be.alloc(rows);
  const ar = be.inArena(...present(y, mean, rstd, sx, sg, sb));
  if (ar) {
    ar.parallel('layernormForward', sx.ptr, ptr(sg), ptr(sb), y.ptr, mean.ptr, rstd.ptr, rows, dim, attrs.eps);
  } else {
    const [ag, ab] = [sg ? be.array(sg) : null, sb ? be.array(sb) : null];
    layernormForwardKernel(be.array(sx), ag, ab, y.data, mean.data, rstd.data, rows, dim, attrs.eps);
  }
  return { outputs: [y], saved: [mean, rstd] };
});

registerKernel(layernormBackwardOp, CpuBackend, (be, inputs, { hasScale, hasShift }) => {
  const [dy, x] = [st(inputs[0]!)!, st(inputs[1]!)!];
  const g = hasScale ? st(inputs[2]!) : null;
  const [mean, rstd] = inputs.slice(hasScale ? 3 : 2).map((t) => st(t)!) as [CpuStorage, CpuStorage];
  const dim = inputs[1]!.shape[inputs[1]!.rank - 1]!;
  const rows = inputs[1]!.size / dim;
  const dx = be.alloc(rows * dim);
  const dg = g ? be.alloc(dim) : null;
  const db = hasShift ? be.alloc(dim) : null;
  const ar = be.inArena(...present(dx, dy, x, mean, rstd, g, dg, db));
  const done =
    ar &&
    be.scratch(ar, 4 * Math.ceil(dim / 4) * 4, (acc) => {
      ar.wasm.layernormBackward(dy.ptr, x.ptr, ptr(g), mean.ptr, rstd.ptr, dx.ptr, ptr(dg), ptr(db), acc, rows, dim);
      return true;
    });
  if (!done) {
    const ag = g ? be.array(g) : null;
    const [am, ar2] = [be.array(mean), be.array(rstd)];
    layernormBackwardKernel(
      be.array(dy),
      be.array(x),
      ag,
      am,
      ar2,
      dx.data,
      dg?.data ?? null,
      db?.data ?? null,
      rows,
      dim,
    );
  }
  const outputs = [dx];
  if (dg) outputs.push(dg);
  if (db) outputs.push(db);
  return { outputs };
});
