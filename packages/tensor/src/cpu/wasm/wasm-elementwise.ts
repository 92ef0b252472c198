import type { UnaryOp } from '../../backend.js';
import { ELEMENTWISE_OPS, ELEMENTWISE_SIMD_WASM } from './kernels.gen.js';
import { decodeBase64, type WasmApi, wasmApi, wasmSimdSupported } from './wasm-gemm.js';

/**
 * WASM SIMD elementwise kernels for the transcendental activations (exp, sigmoid, SiLU, GELU and their backward
 * derivatives): a polynomial exp 4 lanes at a time instead of one Math.exp/Math.tanh call per element, about 10x
 * faster here. Values are copied through a small buffer in the module's memory in L1-sized chunks (the copies cost
 * a few % of the kernel), so tensors stay plain Float32Arrays and the memory never grows.
 *
 * Accuracy: exp within about 2 ulp (Cephes' expf polynomial); the activations add a division, so a few ulp, and
 * GELU's tanh goes through exp: 0.5 (1 + tanh u) = sigmoid(2u). The plain-TS kernels stay as the fallback and the
 * test oracle.
 */
export interface WasmElementwiseProvider {
  /** e.g. 'wasm-simd' */
  readonly name: string;
  /** true when `op` has a wasm kernel */
  supports(op: UnaryOp): boolean;
  /** out[0:n] = op(x[0:n]) for a supported op; out may be x */
  unary(op: UnaryOp, x: Float32Array, out: Float32Array, n: number): void;
}

interface ElementwiseExports {
  heapBase(): number;
  unary(op: number, x: number, out: number, n: number): void;
}

/** floats per call: x and out stay in L1 between the copy in, the kernel and the copy out */
const CHUNK = 4096;

let compiled: object | undefined;

/** Returns null where WASM SIMD is unavailable (callers keep the TS kernels). */
export function createWasmElementwise(): WasmElementwiseProvider | null {
  if (!wasmApi || !wasmSimdSupported()) return null;
  const api: WasmApi = wasmApi;
  let exp: ElementwiseExports;
  let mem: Float32Array;
  try {
    compiled ??= new api.Module(decodeBase64(ELEMENTWISE_SIMD_WASM));
    const memory = new api.Memory({ initial: 1 });
    exp = new api.Instance(compiled, { env: { memory } }).exports as unknown as ElementwiseExports;
    const base = exp.heapBase();
    if (base + CHUNK * 4 > memory.buffer.byteLength) memory.grow(Math.ceil((base + CHUNK * 4) / 65536));
    mem = new Float32Array(memory.buffer, base, CHUNK);
  } catch {
    return null;
  }
  const ptr = mem.byteOffset;
  const codes = new Map<string, number>(ELEMENTWISE_OPS.map((op, i) => [op, i]));
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
