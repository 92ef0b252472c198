import type { UnaryOp } from '../../backend.js';
import { UNARY_OPS } from '../../unary-ops.js';
import { type KernelExports, kernelModule, type WasmApi, wasmApi, wasmSimdSupported } from './wasm-module.js';

/**
 * WASM SIMD elementwise kernels for the transcendental activations (exp, sigmoid, SiLU, GELU and their backward
 * derivatives) on ordinary Float32Arrays: a polynomial exp 4 lanes at a time instead of one Math.exp/Math.tanh call
 * per element, about 7x faster here. Values are copied through a small buffer in the module's own memory in
 * L1-sized chunks (the copies cost a few % of the kernel). Tensors that live in the CPU backend's wasm arena skip
 * this and run every SIMD kernel in place (wasm-arena.ts); this provider serves the ones that do not.
 *
 * Accuracy: exp within about 2 ulp (Cephes' expf polynomial); the activations add a division, so a few ulp, and
 * GELU's tanh goes through exp: 0.5 (1 + tanh u) = sigmoid(2u). The plain-TS kernels stay as the fallback and the
 * test oracle.
 */
export interface WasmElementwiseProvider {
  /** e.g. 'wasm-simd' */
  readonly name: string;
  /**
   * true when `op` has a wasm kernel
   *
   * @param op - A unary op.
   * @returns Whether it has a wasm kernel.
   */
  supports(op: UnaryOp): boolean;
  /**
   * out[0:n] = op(x[0:n]) for a supported op; out may be x
   *
   * @param op - A supported op.
   * @param x - The input.
   * @param out - The output (may be x).
   * @param n - Number of values.
   */
  unary(op: UnaryOp, x: Float32Array, out: Float32Array, n: number): void;
}

/** the ops worth a copy in and out: the rest are about as fast in a JS loop as the copies are */
const COPY_WORTHY = ['exp', 'sigmoid', 'silu', 'siluGrad', 'gelu', 'geluGrad'];

/** floats per call: x and out stay in L1 between the copy in, the kernel and the copy out */
const CHUNK = 4096;

/**
 * Returns null where WASM SIMD is unavailable (callers keep the TS kernels).
 *
 * @returns The provider, or null.
 */
export function createWasmElementwise(): WasmElementwiseProvider | null {
  if (!wasmApi || !wasmSimdSupported()) return null;
  const api: WasmApi = wasmApi;
  let exp: KernelExports;
  let mem: Float32Array;
  try {
    const memory = new api.Memory({ initial: 1 });
    exp = new api.Instance(kernelModule(api, false), { env: { memory } }).exports as unknown as KernelExports;
    const base = exp.heapBase();
    if (base + CHUNK * 4 > memory.buffer.byteLength) memory.grow(Math.ceil((base + CHUNK * 4) / 65536));
    mem = new Float32Array(memory.buffer, base, CHUNK);
  } catch {
    return null;
  }
  const ptr = mem.byteOffset;
  const codes = new Map<string, number>(COPY_WORTHY.map((op) => [op, UNARY_OPS.indexOf(op as never)]));
  return {
    name: 'wasm-simd',
    supports: (op) => codes.has(op),
    unary(op, x, out, n) {
      const code = codes.get(op);
      if (code === undefined) throw new Error(`wasm elementwise: no kernel for '${op}'`);
      for (let i = 0; i < n; i += CHUNK) {
        const m = Math.min(CHUNK, n - i);
        mem.set(m === CHUNK ? x.subarray(i, i + CHUNK) : x.subarray(i, i + m));
        exp.unary(code, ptr, ptr, m);
        out.set(m === CHUNK ? mem : mem.subarray(0, m), i);
      }
    },
  };
}
