import type { FloatArray } from './kernels/float-array.js';
import type { WasmArena } from './wasm/wasm-arena.js';

/**
 * CPU storage: one Float32Array of exactly the tensor's size (Float64Array in float64 mode). With the wasm arena it
 * is a view into the arena's memory: `ptr` is its byte address there and `cap` its padded size in floats (null, -1
 * and 0 for an ordinary array).
 */
export class CpuStorage {
  /**
   * @param data - The values.
   * @param arena - The arena they live in, or null.
   * @param ptr - Their byte address in the arena (-1 outside one).
   * @param cap - The block's padded size in floats (0 outside an arena).
   */
  constructor(
    /** the values (a view into the arena's memory when `arena` is set) */
    readonly data: FloatArray,
    /** the arena the values live in, or null */
    readonly arena: WasmArena | null = null,
    /** byte address in the arena (-1 outside one) */
    readonly ptr = -1,
    /** the block's padded size in floats (0 outside an arena) */
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
