import type { FloatArray } from './kernels/float-array.js';
import type { WasmArena } from './wasm/wasm-arena.js';

/**
 * CPU storage: one Float32Array of exactly the tensor's size (Float64Array in float64 mode). With the wasm arena it
 * is a view into the arena's memory: `ptr` is its byte address there and `cap` its padded size in floats (null, -1
 * and 0 for an ordinary array).
 */
export class CpuStorage {
  constructor(
    readonly data: FloatArray,
    readonly arena: WasmArena | null = null,
    readonly ptr = -1,
    readonly cap = 0,
  ) {}
}

/** an arena block's address and size, for the finalizer of a storage that was dropped without dispose() */
interface Held {
  arena: WasmArena;
  ptr: number;
  cap: number;
}

/** returns arena blocks of storages that were garbage-collected without dispose() (as the JS heap would) */
export const reclaim = new FinalizationRegistry<Held>((h) => h.arena.release(h.ptr, h.cap));
