import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { exportHfFromCheckpoint, HfInteropError } from '@tinyformer/hf';
import { CheckpointError } from '@tinyformer/model';
import { writeFileAtomic } from '@tinyformer/model/node';
import { CliError } from './errors.js';
import { isHfFolder } from './load-run.js';
import { runPaths } from './run-folder.js';

export interface ExportOptions {
  /** a run folder or a checkpoint file */
  checkpoint: string;
  /** the only format so far: a Hugging Face transformers folder */
  format: 'hf';
  out: string;
  /** write into an --out that already holds files */
  force: boolean;
  log: (line: string) => void;
}

/**
 * charlm export: a checkpoint as a Hugging Face folder (config.json, model.safetensors without optimizer state,
 * generation_config.json, tokenizer.json, tokenizer_config.json), each file written atomically.
 */
export function runExport(o: ExportOptions): { className: string; files: string[] } {
  let file = o.checkpoint;
  if (existsSync(file) && statSync(file).isDirectory()) {
    if (isHfFolder(file)) throw new CliError(`--checkpoint ${o.checkpoint} is already a Hugging Face folder`);
    file = runPaths(file).checkpoint;
  }
  if (!existsSync(file)) throw new CliError(`--checkpoint ${o.checkpoint}: no checkpoint found at ${file}`);
  if (existsSync(o.out) && !statSync(o.out).isDirectory()) throw new CliError(`--out ${o.out} is a file, not a folder`);
  if (existsSync(o.out) && readdirSync(o.out).length > 0 && !o.force) {
    throw new CliError(`--out ${o.out} already holds files; pass --force to overwrite them`);
  }
  let exported: ReturnType<typeof exportHfFromCheckpoint>;
  try {
    exported = exportHfFromCheckpoint(readFileSync(file), file);
  } catch (e) {
    if (e instanceof HfInteropError) throw new CliError(`cannot export ${file}: ${e.message}`);
    if (e instanceof CheckpointError) throw new CliError(e.message);
    throw e;
  }
  if (!exported.files.has('tokenizer.json')) {
    throw new CliError(`checkpoint ${file} has no character vocabulary: it was not written by charlm`);
  }
  mkdirSync(o.out, { recursive: true });
  for (const [name, bytes] of exported.files) writeFileAtomic(join(o.out, name), bytes);
  const files = [...exported.files.keys()];
  o.log(
    `exported ${file} as ${exported.className} (model_type ${exported.modelType}) to ${o.out}: ${files.join(', ')}`,
  );
  return { className: exported.className, files };
}
