import { readFileChecked, writeFileAtomic } from './atomic-file.js';
import {
  type CheckpointContents,
  type CheckpointOptions,
  decodeCheckpoint,
  encodeCheckpoint,
  parseCheckpoint,
} from './checkpoint.js';
import type { DecoderLM } from './decoder-lm.js';

// Node-only: checkpoints to and from file paths, on top of the byte-level functions of the root.

/**
 * Saves weights, config, optional optimizer moments and free-form metadata to a file; atomic (never half-written).
 *
 * @param path - the target file; its directory must exist
 * @param model - the model whose parameters and config are stored
 * @param opts - optional optimizer (moments and step) and `meta`
 * @throws the file-system error when the file cannot be written (an existing file is left as it was)
 */
export async function saveCheckpoint(path: string, model: DecoderLM, opts: CheckpointOptions = {}): Promise<void> {
  writeFileAtomic(path, await encodeCheckpoint(model, opts));
}

/**
 * Reads and validates a checkpoint file without building a model.
 *
 * @param path - the checkpoint file
 * @returns config, weights, optimizer state (or null), meta and format version
 * @throws {@link CheckpointError} naming `path` when it is missing, a directory, damaged or not a checkpoint
 */
export function readCheckpoint(path: string): CheckpointContents {
  return parseCheckpoint(readFileChecked(path), path);
}

/**
 * Builds the model a checkpoint file describes and loads its weights; every shape is checked against the config.
 *
 * @param path - the checkpoint file
 * @returns the model plus everything {@link readCheckpoint} returns
 * @throws {@link CheckpointError} naming `path`, as {@link readCheckpoint} does or when a parameter does not fit
 */
export function loadCheckpoint(path: string): CheckpointContents & { model: DecoderLM } {
  return decodeCheckpoint(readFileChecked(path), path);
}
