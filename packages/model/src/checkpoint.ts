import { formatShape, sameShape } from '@tinyformer/tensor';
import { ConfigError, type ModelConfig, resolveModelConfig } from './config.js';
import { DecoderLM } from './decoder-lm.js';
import type { AdamW, AdamWState } from './optim.js';
import {
  CheckpointError,
  decodeSafetensors,
  encodeSafetensors,
  type NamedTensor,
  readFileChecked,
  writeFileAtomic,
} from './safetensors.js';

export const CHECKPOINT_FORMAT = 'tinyformer';
export const CHECKPOINT_VERSION = 1;

const M_PREFIX = 'optimizer.m.';
const V_PREFIX = 'optimizer.v.';

export interface CheckpointContents {
  config: ModelConfig;
  /** parameter name -> values */
  weights: Map<string, NamedTensor>;
  optimizer: AdamWState | null;
  /** whatever the trainer stored (vocabulary, step, RNG and sampler state, schedule) */
  meta: Record<string, unknown>;
  version: number;
}

/** Saves weights, config, optional optimizer moments and free-form metadata; atomic (never half-written). */
export async function saveCheckpoint(
  path: string,
  model: DecoderLM,
  opts: { optimizer?: AdamW; meta?: Record<string, unknown> } = {},
): Promise<void> {
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
  const metadata = {
    format: CHECKPOINT_FORMAT,
    format_version: String(CHECKPOINT_VERSION),
    config: JSON.stringify(model.config),
    optimizer_step: String(optimizerStep),
    meta: JSON.stringify(opts.meta ?? {}),
  };
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Reads and validates a checkpoint file without building a model. */
export function readCheckpoint(path: string): CheckpointContents {
  const { tensors, metadata } = decodeSafetensors(readFileChecked(path), path);
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(
      path,
      `is not a tinyformer checkpoint (metadata format ${JSON.stringify(metadata.format)})`,
    );
  }
  const version = Number(metadata.format_version);
  if (!Number.isInteger(version) || version < 1)
    throw new CheckpointError(path, `has an invalid format version ${metadata.format_version}`);
  if (version > CHECKPOINT_VERSION) {
    throw new CheckpointError(
      path,
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
    throw new CheckpointError(path, why);
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
  return { config, weights, optimizer, meta, version };
}

/** Builds the model a checkpoint describes and loads its weights; every shape is checked against the config. */
export function loadCheckpoint(path: string): CheckpointContents & { model: DecoderLM } {
  const contents = readCheckpoint(path);
  const model = new DecoderLM(contents.config);
  loadWeights(model, contents.weights, path);
  return { ...contents, model };
}

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

/** Checks that optimizer state covers every parameter of the model with the right sizes. */
export function checkOptimizerState(model: DecoderLM, state: AdamWState, file: string): void {
  for (const [path, p] of model.namedParameters()) {
    const sm = state.m[path];
    const sv = state.v[path];
    if (!sm || !sv || sm.length !== p.size || sv.length !== p.size) {
      throw new CheckpointError(file, `has no (or wrongly sized) optimizer state for "${path}"`);
    }
  }
}
