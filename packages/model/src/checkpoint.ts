import { formatShape, sameShape } from '@tinyformer/tensor';
import { ConfigError, type ModelConfig, resolveModelConfig } from './config.js';
import { DecoderLM } from './decoder-lm.js';
import type { AdamW, AdamWState } from './optim.js';
import { parameterShapes } from './parameter-shapes.js';
import { CheckpointError, decodeSafetensors, encodeSafetensors, type NamedTensor } from './safetensors.js';

/** The `format` a tinyformer checkpoint's metadata carries. */
export const CHECKPOINT_FORMAT = 'tinyformer';
/** The checkpoint format version this package writes (and the newest it reads). */
export const CHECKPOINT_VERSION = 1;

const M_PREFIX = 'optimizer.m.';
const V_PREFIX = 'optimizer.v.';

/** A parsed checkpoint: what parseCheckpoint returns (decodeCheckpoint adds the model). */
export interface CheckpointContents {
  /** the model's resolved config */
  config: ModelConfig;
  /** parameter name -> values */
  weights: Map<string, NamedTensor>;
  /** the optimizer's step and moments, or null when none was stored */
  optimizer: AdamWState | null;
  /** whatever the trainer stored (vocabulary, step, RNG and sampler state, schedule) */
  meta: Record<string, unknown>;
  /** the checkpoint's format version */
  version: number;
}

/** What {@link encodeCheckpoint} stores besides the weights. */
export interface CheckpointOptions {
  /** its AdamW moments and step are stored, so training resumes bit for bit */
  optimizer?: AdamW;
  /** free-form, JSON-serialisable (vocabulary, step, RNG and sampler state, schedule) */
  meta?: Record<string, unknown>;
  /**
   * Store weights or optimizer moments that are NaN or infinite (default false: such a model is refused with a
   * CheckpointError, so a file on disk is always one training can continue from and sampling can use). true is
   * for post-mortems of a diverged run.
   */
  allowNonFinite?: boolean;
}

/**
 * The first NaN or infinite value among tensors, or null when all are finite.
 *
 * @param tensors - Name -> values (weights, optimizer moments).
 * @returns The tensor's name, the flat index and the value, or null.
 */
export function findNonFinite(
  tensors: Iterable<readonly [string, { data: ArrayLike<number> }]>,
): { name: string; index: number; value: number } | null {
  for (const [name, t] of tensors) {
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      // NaN - NaN and Inf - Inf are both NaN: one test for both
      if (Number.isNaN(d[i]! - d[i]!)) return { name, index: i, value: d[i]! };
    }
  }
  return null;
}

/**
 * Encodes weights, config, optional optimizer moments and free-form metadata as a safetensors file: the same bytes
 * that `saveCheckpoint` of `@tinyformer/model/node` writes. Works anywhere (browser, worker, Node).
 *
 * @param model - the model whose parameters and config are stored
 * @param opts - optional optimizer (moments and step), `meta`, and `allowNonFinite`
 * @returns the checkpoint file's bytes
 * @throws {@link CheckpointError} when a weight or moment is NaN or infinite (unless `allowNonFinite`)
 * @example
 * ```ts
 * const bytes = await encodeCheckpoint(model, { meta: { vocab } });
 * const url = URL.createObjectURL(new Blob([bytes])); // offer it as a download
 * const { model: restored, meta } = decodeCheckpoint(bytes, 'download');
 * ```
 */
export async function encodeCheckpoint(model: DecoderLM, opts: CheckpointOptions = {}): Promise<Uint8Array> {
  const tensors = new Map<string, NamedTensor>();
  for (const [name, p] of model.namedParameters()) tensors.set(name, { shape: [...p.shape], data: await p.data() });
  let optimizerStep = -1;
  if (opts.optimizer) {
    const st = await opts.optimizer.getState();
    optimizerStep = st.step;
    for (const p of opts.optimizer.params()) {
      tensors.set(M_PREFIX + p.name!, { shape: [...p.shape], data: st.m[p.name!]! });
      tensors.set(V_PREFIX + p.name!, { shape: [...p.shape], data: st.v[p.name!]! });
    }
  }
  if (!opts.allowNonFinite) {
    const bad = findNonFinite(tensors);
    if (bad) {
      throw new CheckpointError(
        'not written',
        `"${bad.name}" holds ${bad.value} at index ${bad.index} (the model diverged; a checkpoint holds finite values only)`,
      );
    }
  }
  const metadata = {
    format: CHECKPOINT_FORMAT,
    format_version: String(CHECKPOINT_VERSION),
    config: JSON.stringify(model.config),
    optimizer_step: String(optimizerStep),
    meta: JSON.stringify(opts.meta ?? {}),
  };
  return encodeSafetensors(tensors, metadata);
}

/**
 * Reads and validates checkpoint bytes without building a model.
 *
 * @param bytes - a whole checkpoint file
 * @param source - names it in error messages (a path, a URL); default 'checkpoint bytes'
 * @returns config, weights, optimizer state (or null), meta and format version
 * @throws {@link CheckpointError} when the bytes are not valid safetensors, not a tinyformer checkpoint, of a newer
 *   format version, their config/meta is invalid, or the config does not match the tensors in the file (names,
 *   shapes, optimizer moments): checked before anything is built from the config
 */
export function parseCheckpoint(bytes: Uint8Array | ArrayBuffer, source = 'checkpoint bytes'): CheckpointContents {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(
      source,
      `is not a tinyformer checkpoint (metadata format ${JSON.stringify(metadata.format)})`,
    );
  }
  const version = Number(metadata.format_version);
  if (!Number.isInteger(version) || version < 1)
    throw new CheckpointError(source, `has an invalid format version ${metadata.format_version}`);
  if (version > CHECKPOINT_VERSION) {
    throw new CheckpointError(
      source,
      `was written by a newer tinyformer (format version ${version}; this one reads up to ${CHECKPOINT_VERSION}): upgrade to load it`,
    );
  }
  let config: ModelConfig;
  let meta: Record<string, unknown>;
  try {
    config = resolveModelConfig(JSON.parse(metadata.config ?? 'null'), 'config stored in the checkpoint');
    meta = JSON.parse(metadata.meta ?? '{}');
  } catch (e) {
    const why = e instanceof ConfigError ? e.message : 'its config/meta metadata is not valid JSON';
    throw new CheckpointError(source, why);
  }
  const weights = new Map<string, NamedTensor>();
  const m: Record<string, Float32Array> = {};
  const v: Record<string, Float32Array> = {};
  for (const [name, t] of tensors) {
    if (name.startsWith(M_PREFIX)) m[name.slice(M_PREFIX.length)] = t.data;
    else if (name.startsWith(V_PREFIX)) v[name.slice(V_PREFIX.length)] = t.data;
    else weights.set(name, t);
  }
  const step = Number(metadata.optimizer_step ?? -1);
  const optimizer = step >= 0 ? { step, m, v } : null;
  checkTensorsMatchConfig(config, weights, optimizer, source);
  return { config, weights, optimizer, meta, version };
}

/**
 * Proves the stored config consistent with the tensors actually in the file before anything is built from it:
 * every parameter the config implies is present with its shape, nothing else is, and the optimizer moments (if
 * any) match. A config that claims more layers, width or vocabulary than the file holds is refused here, so
 * loading never allocates more than the file's own size.
 */
function checkTensorsMatchConfig(
  config: ModelConfig,
  weights: ReadonlyMap<string, NamedTensor>,
  optimizer: { m: Record<string, Float32Array>; v: Record<string, Float32Array> } | null,
  source: string,
): void {
  const expected = parameterShapes(config);
  const counts =
    expected.length === weights.size
      ? ''
      : ` (the config implies ${expected.length} parameters, the file holds ${weights.size})`;
  for (const [name, shape] of expected) {
    const w = weights.get(name);
    if (!w) {
      throw new CheckpointError(
        source,
        `is missing parameter "${name}" ${formatShape(shape)} that the config requires${counts}`,
      );
    }
    if (!sameShape(w.shape, shape)) {
      throw new CheckpointError(
        source,
        `parameter "${name}" is ${formatShape(w.shape)} but the config needs ${formatShape(shape)}`,
      );
    }
    if (optimizer) {
      for (const [kind, moments] of [
        ['m', optimizer.m],
        ['v', optimizer.v],
      ] as const) {
        const mo = moments[name];
        if (!mo || mo.length !== w.data.length) {
          throw new CheckpointError(source, `optimizer state ${kind} of "${name}" is missing or of the wrong size`);
        }
      }
    }
  }
  const known = new Set(expected.map(([n]) => n));
  for (const name of weights.keys()) {
    if (!known.has(name))
      throw new CheckpointError(source, `has a parameter "${name}" that this model config does not have${counts}`);
  }
  if (optimizer) {
    for (const name of [...Object.keys(optimizer.m), ...Object.keys(optimizer.v)]) {
      if (!weights.has(name))
        throw new CheckpointError(source, `has optimizer state for an unknown parameter "${name}"`);
    }
  }
}

/**
 * Builds the model that checkpoint bytes describe and loads its weights; every shape is checked against the config.
 *
 * @param bytes - a whole checkpoint file, e.g. from {@link encodeCheckpoint}, a file input or `fetch`
 * @param source - names it in error messages; default 'checkpoint bytes'
 * @returns the model plus everything {@link parseCheckpoint} returns
 * @throws {@link CheckpointError} as {@link parseCheckpoint} does, or when a parameter is missing, extra or of the
 *   wrong shape
 * @example
 * ```ts
 * const input = document.querySelector('input[type=file]') as HTMLInputElement;
 * const file = input.files![0]!;
 * const { model, meta } = decodeCheckpoint(new Uint8Array(await file.arrayBuffer()), file.name);
 * ```
 */
export function decodeCheckpoint(
  bytes: Uint8Array | ArrayBuffer,
  source = 'checkpoint bytes',
): CheckpointContents & { model: DecoderLM } {
  const contents = parseCheckpoint(bytes, source);
  const model = new DecoderLM(contents.config);
  loadWeights(model, contents.weights, source);
  return { ...contents, model };
}

/** The part of a fetch `Response` that {@link loadCheckpointFromResponse} reads (a DOM or Node `Response` fits). */
export interface CheckpointResponse {
  /** whether the status is 2xx */
  readonly ok: boolean;
  /** the HTTP status */
  readonly status: number;
  /** the HTTP status text */
  readonly statusText: string;
  /** where it came from (names the checkpoint in errors) */
  readonly url: string;
  /**
   * The body.
   *
   * @returns The whole body's bytes.
   */
  arrayBuffer(): Promise<ArrayBuffer>;
}

/**
 * Loads a checkpoint from a fetch `Response` (reads its `arrayBuffer()`); errors name `response.url`.
 *
 * @param response - e.g. `await fetch('/model.safetensors')`
 * @returns what {@link decodeCheckpoint} returns
 * @throws {@link CheckpointError} when the response is not ok (naming its status) or as {@link decodeCheckpoint}
 */
export async function loadCheckpointFromResponse(
  response: CheckpointResponse,
): Promise<CheckpointContents & { model: DecoderLM }> {
  const source = response.url || 'response';
  if (!response.ok) throw new CheckpointError(source, `HTTP ${response.status} ${response.statusText}`.trimEnd());
  return decodeCheckpoint(await response.arrayBuffer(), source);
}

/**
 * Copies checkpoint weights into a model after checking every name and shape (nothing is written unless all match).
 *
 * @param model - the model to fill
 * @param weights - parameter name -> values
 * @param file - names the checkpoint in error messages
 * @throws {@link CheckpointError} when a parameter is missing, extra or of the wrong shape
 */
export function loadWeights(model: DecoderLM, weights: ReadonlyMap<string, NamedTensor>, file: string): void {
  const expected = model.namedParameters();
  for (const [name, p] of expected) {
    const w = weights.get(name);
    if (!w)
      throw new CheckpointError(
        file,
        `is missing parameter "${name}" ${formatShape(p.shape)} that the config requires`,
      );
    if (!sameShape(w.shape, p.shape)) {
      throw new CheckpointError(
        file,
        `parameter "${name}" is ${formatShape(w.shape)} but the config needs ${formatShape(p.shape)}`,
      );
    }
  }
  const known = new Set(expected.map(([n]) => n));
  for (const name of weights.keys()) {
    if (!known.has(name))
      throw new CheckpointError(file, `has a parameter "${name}" that this model config does not have`);
  }
  for (const [name, p] of expected) {
    p.setValues(weights.get(name)!.data);
  }
}

/**
 * Checks that optimizer state covers every parameter of the model with the right sizes.
 *
 * @param model - The model.
 * @param state - The optimizer state.
 * @param file - Names the checkpoint in errors.
 * @throws {@link CheckpointError} when a parameter's moments are missing or of the wrong size.
 */
export function checkOptimizerState(model: DecoderLM, state: AdamWState, file: string): void {
  for (const [path, p] of model.namedParameters()) {
    const sm = state.m[path];
    const sv = state.v[path];
    if (!sm || !sv || sm.length !== p.size || sv.length !== p.size) {
      throw new CheckpointError(file, `has no (or wrongly sized) optimizer state for "${path}"`);
    }
  }
}
