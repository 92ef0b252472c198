import { CpuBackend, type CpuStorage, registerKernel, type Tensor, type WasmArena } from '@tinyformer/tensor';
import { mergeHeadsOp, splitHeadsOp } from '../heads.js';
import { ropeOp } from '../rope.js';
import { mergeHeadsKernel, ropeKernel, ropeTable, splitHeadsKernel } from './head-kernels.js';

/**
 * Attention's CPU kernels: the head split/merge and RoPE routines of the tensor package's wasm module when every
 * tensor is in the arena and the head dim suits the SIMD layout, else the TS kernels of head-kernels.ts.
 */

const st = (t: Tensor) => t.storage as CpuStorage;

registerKernel(splitHeadsOp, CpuBackend, (be, [x], p) => {
  const size = p.batch * p.seq * p.heads * p.headDim;
  const outs = Array.from({ length: p.parts }, () => be.alloc(size));
  const ar = p.headDim % 4 === 0 ? be.inArena(st(x!), ...outs) : null;
  if (ar) {
    for (let q = 0; q < p.parts; q++) {
      ar.parallel('heads', st(x!).ptr, outs[q]!.ptr, p.batch, p.seq, p.heads, p.headDim, p.parts, q, 1);
    }
  } else {
    splitHeadsKernel(
      be.array(st(x!)),
      outs.map((o) => o.data),
      p,
    );
  }
  return { outputs: outs };
});

registerKernel(mergeHeadsOp, CpuBackend, (be, xs, p) => {
  const out = be.alloc(p.batch * p.seq * p.parts * p.heads * p.headDim);
  const ss = xs.map(st);
  const ar = p.headDim % 4 === 0 ? be.inArena(out, ...ss) : null;
  if (ar) {
    for (let q = 0; q < p.parts; q++) {
      ar.parallel('heads', out.ptr, ss[q]!.ptr, p.batch, p.seq, p.heads, p.headDim, p.parts, q, 0);
    }
  } else {
    mergeHeadsKernel(
      ss.map((s) => be.array(s)),
      out.data,
      p,
    );
  }
  return { outputs: [out] };
});

registerKernel(ropeOp, CpuBackend, (be, [x], { startPos, base, scale, inverse }) => {
  const seq = x!.shape[x!.rank - 2]!;
  const headDim = x!.shape[x!.rank - 1]!;
  const rows = seq * headDim === 0 ? 0 : x!.size / (seq * headDim);
  const out = be.alloc(x!.size);
  const ar = headDim % 8 === 0 ? be.inArena(out, st(x!)) : null;
  const tables = ar ? ropeTablesIn(ar, base, headDim, startPos + seq) : null;
  if (ar && tables) {
    const sinScale = inverse ? -scale : scale;
    ar.parallel('rope', st(x!).ptr, out.ptr, tables.cos, tables.sin, rows, seq, headDim, startPos, scale, sinScale);
  } else {
    ropeKernel(be.array(st(x!)), out.data, { rows, seq, headDim, startPos, base, inverse, scale });
  }
  return { outputs: [out] };
});

interface ArenaBlock {
  ptr: number;
  cap: number;
}

/** RoPE tables copied into each arena (f32), kept for the process */
const arenaRopeTables = new WeakMap<WasmArena, Map<string, { len: number; cos: ArenaBlock; sin: ArenaBlock }>>();

/** the f32 cos/sin tables of `ropeTable` in the arena, positions [0, len), cached per (arena, base, headDim) */
function ropeTablesIn(ar: WasmArena, base: number, hd: number, end: number): { cos: number; sin: number } | null {
  const key = `${base},${hd}`;
  let t = arenaRopeTables.get(ar)?.get(key);
  if (!t || t.len < end) {
    const src = ropeTable(base, hd, end);
    const n = src.len * (hd / 2);
    const cos = ar.alloc(n);
    const sin = ar.alloc(n);
    if (!cos || !sin) {
      if (cos) ar.release(cos.ptr, cos.cap);
      return null;
    }
    cos.data.set(src.cos);
    sin.data.set(src.sin);
    if (t) {
      ar.release(t.cos.ptr, t.cos.cap);
      ar.release(t.sin.ptr, t.sin.cap);
    }
    t = { len: src.len, cos, sin };
    let m = arenaRopeTables.get(ar);
    if (!m) arenaRopeTables.set(ar, (m = new Map()));
    m.set(key, t);
  }
  return { cos: t.cos.ptr, sin: t.sin.ptr };
}
