/**
 * Mapping strided index spaces (broadcast, permute, slice, pad, concat) onto gpu.js's 3-D dispatch grid.
 *
 * gpu.js lowers `/` and `%` to f32, which is exact only below 2^24 (docs/gpujs-backend.md §4 no. 6), so a flat
 * output index cannot be split into coordinates safely. Instead every such kernel runs on a 3-D grid over six dims
 * [d0..d5]: x = d5, y = (d3, d4), z = (d0, d1, d2). Only y and z are split in-kernel, and both are bounded by
 * the dispatch limits (y < 8 * 65535, z < 65535), so their f32 division is exact; every offset is then summed in
 * i32. Dims are first coalesced (fewer, larger dims), then split where one exceeds a grid limit.
 */
import { TensorError } from '@tinyformer/tensor';

export const GRID_RANK = 6;

export interface GridLimits {
  /** threads along x and along y (workgroups of 8 times maxComputeWorkgroupsPerDimension) */
  xy: number;
  /** threads along z (workgroups of 1) */
  z: number;
}

export const DEFAULT_LIMITS: GridLimits = { xy: 8 * 65535, z: 65535 };

/** One index space: dims plus, per operand, an element stride per dim; optional box (begin, size) per dim. */
export interface IndexSpace {
  dims: number[];
  strides: number[][];
  /** pad/concat: the box inside the output that the input fills (begin and size per dim) */
  box?: { begin: number[]; size: number[] };
}

export interface Grid extends IndexSpace {
  /** gpu.js output [x, y, z] */
  output: [number, number, number];
}

const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/** Drops size-1 dims and merges neighbours that every operand (and the box) walks contiguously. */
export function coalesce(space: IndexSpace): IndexSpace {
  const { dims, strides, box } = space;
  const keep: number[] = [];
  for (let i = 0; i < dims.length; i++) if (dims[i] !== 1) keep.push(i);
  let d = keep.map((i) => dims[i]!);
  let s = strides.map((st) => keep.map((i) => st[i]!));
  let b = box ? keep.map((i) => box.begin[i]!) : null;
  let n = box ? keep.map((i) => box.size[i]!) : null;
  for (let i = d.length - 2; i >= 0; i--) {
    const inner = d[i + 1]!;
    const ok = s.every((st) => st[i] === st[i + 1]! * inner) && (!b || !n || (b[i + 1] === 0 && n[i + 1] === inner));
    if (!ok) continue;
    d = [...d.slice(0, i), d[i]! * inner, ...d.slice(i + 2)];
    s = s.map((st) => [...st.slice(0, i), st[i + 1]!, ...st.slice(i + 2)]);
    if (b && n) {
      b = [...b.slice(0, i), b[i]! * inner, ...b.slice(i + 2)];
      n = [...n.slice(0, i), n[i]! * inner, ...n.slice(i + 2)];
    }
  }
  return b && n ? { dims: d, strides: s, box: { begin: b, size: n } } : { dims: d, strides: s };
}

/** The largest divisor of n that is <= limit (1 when there is none above 1). */
export function largestDivisorAtMost(n: number, limit: number): number {
  if (n <= limit) return n;
  for (let f = Math.min(limit, Math.floor(n / 2)); f >= 2; f--) if (n % f === 0) return f;
  return 1;
}

/** The divisor of n closest to sqrt(n) from below (1 for primes). */
function balancedDivisor(n: number): number {
  for (let f = Math.floor(Math.sqrt(n)); f >= 2; f--) if (n % f === 0) return f;
  return 1;
}

function split(space: IndexSpace, i: number, inner: number): IndexSpace {
  const outer = space.dims[i]! / inner;
  const dims = [...space.dims.slice(0, i), outer, inner, ...space.dims.slice(i + 1)];
  const strides = space.strides.map((st) => [...st.slice(0, i), st[i]! * inner, st[i]!, ...st.slice(i + 1)]);
  if (!space.box) return { dims, strides };
  // only a dim the box covers fully can be split (coalesce guarantees nothing else, so check)
  const { begin, size } = space.box;
  return {
    dims,
    strides,
    box: {
      begin: [...begin.slice(0, i), begin[i]! / inner, 0, ...begin.slice(i + 1)],
      size: [...size.slice(0, i), size[i]! / inner, inner, ...size.slice(i + 1)],
    },
  };
}

function splittable(space: IndexSpace, i: number, f: number): boolean {
  if (f <= 1) return false;
  if (!space.box) return true;
  return space.box.begin[i]! % f === 0 && space.box.size[i]! % f === 0;
}

/**
 * Coalesces the space and lays it out on the six grid dims (leading dims padded with 1, strides with 0).
 * Throws a TensorError for a shape that no split of its dims fits into the dispatch limits.
 */
export function toGrid(what: string, input: IndexSpace, limits: GridLimits = DEFAULT_LIMITS): Grid {
  let space = coalesce(input);
  for (let attempt = 0; attempt < 16; attempt++) {
    const r = space.dims.length;
    if (r === 0) return pad6({ dims: [1], strides: space.strides.map(() => [0]), box: boxOf(space, [0], [1]) }, 0);
    const last = space.dims[r - 1]!;
    if (last > limits.xy) {
      const f = largestDivisorAtMost(last, limits.xy);
      if (!splittable(space, r - 1, f) || r >= GRID_RANK) break;
      space = split(space, r - 1, f);
      continue;
    }
    const rest = space.dims.slice(0, r - 1);
    for (const k of [2, 1, 0]) {
      if (k > rest.length) continue;
      const yDims = rest.slice(rest.length - k);
      const zDims = rest.slice(0, rest.length - k);
      if (prod(yDims) <= limits.xy && zDims.length <= 3 && prod(zDims) <= limits.z) return pad6(space, k);
    }
    // split the largest leading dim that can be split, then try again
    let best = -1;
    for (let i = 0; i < r - 1; i++) {
      if (space.dims[i]! > 1 && (best < 0 || space.dims[i]! > space.dims[best]!)) best = i;
    }
    if (best < 0 || r >= GRID_RANK) break;
    const f = balancedDivisor(space.dims[best]!);
    if (!splittable(space, best, f)) break;
    space = split(space, best, f);
  }
  throw new TensorError(
    what,
    `index space [${input.dims.join(', ')}] cannot be laid out on the WebGPU dispatch grid ` +
      `(x, y <= ${limits.xy}, z <= ${limits.z} threads, at most ${GRID_RANK} dims after merging)`,
  );
}

function boxOf(space: IndexSpace, begin: number[], size: number[]): IndexSpace['box'] {
  return space.box ? { begin, size } : undefined;
}

/** Places the last dim on x, the k dims before it on y (d3, d4) and the rest on z (d0, d1, d2). */
function pad6(space: IndexSpace, k: number): Grid {
  const r = space.dims.length;
  const x = r - 1;
  const yIdx = Array.from({ length: k }, (_, j) => x - k + j);
  const zIdx = Array.from({ length: x - k }, (_, j) => j);
  const order = [...padIdx(zIdx, 3), ...padIdx(yIdx, 2), x];
  const pick = (arr: readonly number[], fill: number) => order.map((i) => (i < 0 ? fill : arr[i]!));
  const dims = pick(space.dims, 1);
  const strides = space.strides.map((st) => pick(st, 0));
  const grid: Grid = {
    dims,
    strides,
    output: [dims[5]!, dims[3]! * dims[4]!, dims[0]! * dims[1]! * dims[2]!],
  };
  if (space.box) grid.box = { begin: pick(space.box.begin, 0), size: pick(space.box.size, 1) };
  return grid;
}

function padIdx(idx: number[], n: number): number[] {
  return [...Array.from({ length: n - idx.length }, () => -1), ...idx];
}

/** Row-major strides of a shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Strides of `shape` right-aligned against `outShape`, 0 on broadcast dims. */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const rank = outShape.length;
  const str = new Array<number>(rank).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const oi = rank - shape.length + i;
    str[oi] = shape[i] === 1 ? 0 : s;
    s *= shape[i]!;
  }
  return str;
}
