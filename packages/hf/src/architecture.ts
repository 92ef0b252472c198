import type { ModelConfig, NamedTensor } from '@tinyformer/model';

/** Tensors by name (tinyformer's names or Hugging Face's), each with its shape and float32 values. */
export type Weights = Map<string, NamedTensor>;

/** The Hugging Face `config.json` as parsed JSON. */
export type HfConfig = Record<string, unknown>;

/** An error naming what blocks an export or import, and what would be needed instead. */
export class HfInteropError extends Error {
  /** @param message - What blocks the export or import, naming the field, tensor or class. */
  constructor(message: string) {
    super(message);
    this.name = 'HfInteropError';
  }
}

/**
 * One Hugging Face model class that a tinyformer recipe equals after renaming: how to recognise the recipe, write
 * its config.json, and move weights between the two naming schemes (both directions lossless).
 */
export interface HfArchitecture {
  /** `model_type` in config.json */
  readonly modelType: string;
  /** the transformers class (config.json `architectures`) */
  readonly className: string;
  /**
   * Why this class cannot hold the recipe.
   *
   * @param c - A resolved tinyformer config.
   * @returns The reason, or null when the class computes the recipe.
   */
  mismatch(c: ModelConfig): string | null;
  /**
   * config.json's fields for the recipe (the sizes, and every field whose HF default differs from ours).
   *
   * @param c - A config this class holds.
   * @returns The JSON object.
   */
  configJson(c: ModelConfig): HfConfig;
  /**
   * tinyformer weights -> HF tensors: names, layouts, and zeros or ones where the class has what ours leaves out.
   *
   * @param c - The config.
   * @param w - Weights by tinyformer name.
   * @returns Tensors by HF name.
   */
  toHf(c: ModelConfig, w: Weights): Weights;
  /**
   * config.json -> our config.
   *
   * @param hf - The parsed config.json.
   * @param tensors - The file's tensors (biases that are all zero give a bias-free recipe).
   * @returns The resolved config.
   * @throws {@link HfInteropError} on a field tinyformer cannot honour.
   */
  fromHfConfig(hf: HfConfig, tensors: Weights): ModelConfig;
  /**
   * HF tensors -> tinyformer weights.
   *
   * @param c - The config fromHfConfig returned.
   * @param hf - Tensors by HF name.
   * @returns Weights by tinyformer name.
   * @throws {@link HfInteropError} naming a missing tensor.
   */
  fromHf(c: ModelConfig, hf: Weights): Weights;
}

/** A tensor by name, or a clear error naming what is missing. */
export function take(w: Weights, name: string, where: string): NamedTensor {
  const t = w.get(name);
  if (!t) throw new HfInteropError(`${where}: tensor "${name}" is missing`);
  return t;
}

export function filled(shape: number[], value: number): NamedTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: new Float32Array(n).fill(value) };
}

/** Copies a [rows, cols] matrix transposed (GPT-2's Conv1D stores [in, out]). */
export function transpose(t: NamedTensor): NamedTensor {
  const [r, c] = t.shape as [number, number];
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j]!;
  return { shape: [c, r], data: out };
}

/** Rows [from, from + n) of a matrix (or elements of a vector), copied. */
export function rows(t: NamedTensor, from: number, n: number): NamedTensor {
  const width = t.shape.length === 2 ? t.shape[1]! : 1;
  const shape = t.shape.length === 2 ? [n, width] : [n];
  return { shape, data: t.data.slice(from * width, (from + n) * width) };
}

/** Stacks matrices (or vectors) along their first axis. */
export function stackRows(parts: NamedTensor[]): NamedTensor {
  const total = parts.reduce((a, p) => a + p.data.length, 0);
  const data = new Float32Array(total);
  let at = 0;
  for (const p of parts) {
    data.set(p.data, at);
    at += p.data.length;
  }
  const n = parts.reduce((a, p) => a + p.shape[0]!, 0);
  return { shape: parts[0]!.shape.length === 2 ? [n, parts[0]!.shape[1]!] : [n], data };
}

/** A number field of config.json, or the default when absent; anything else is an error. */
export function num(hf: HfConfig, key: string, fallback?: number): number {
  const v = hf[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new HfInteropError(`config.json: "${key}" must be a number, got ${JSON.stringify(hf[key])}`);
  }
  return v;
}

/** Refuses config.json fields whose value changes the math in a way tinyformer does not implement. */
export function refuse(hf: HfConfig, checks: [key: string, ok: (v: unknown) => boolean, what: string][]): void {
  for (const [key, ok, what] of checks) {
    if (key in hf && !ok(hf[key])) {
      throw new HfInteropError(`config.json: ${key} = ${JSON.stringify(hf[key])} is not supported (${what})`);
    }
  }
}

export const absentOrNull = (v: unknown) => v === null || v === undefined;
export const falsy = (v: unknown) => v === false || v === null || v === undefined;
