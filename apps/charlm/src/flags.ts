import { FFN_KINDS } from '@tinyformer/ffn';
import { normKinds } from '@tinyformer/norm';
import { PRESET_NAMES, type TrainSettings } from '@tinyformer/recipe';
import { BACKEND_PREFERENCES } from './backend.js';

export type Command = 'train' | 'sample' | 'eval' | 'export';

interface CommandInfo {
  summary: string;
  /** what follows `charlm <command>` on the usage line */
  usage: string;
  /** a line after the flags in `charlm <command> --help` */
  note?: string;
}

export const COMMANDS: Record<Command, CommandInfo> = {
  train: {
    summary: 'train a model (default corpus: the Brown Corpus, embedded)',
    usage: '[options]',
    note: 'Model and optimizer flags default to the --preset; on --resume, to the checkpoint.',
  },
  sample: { summary: 'generate text from a trained run', usage: '--checkpoint <dir|file> [options]' },
  eval: {
    summary: 'validation loss and bits per character of a trained run',
    usage: '--checkpoint <dir|file> [options]',
  },
  export: {
    summary: 'write a trained run as a Hugging Face folder (Llama, Qwen3, GPT-2 or GPT-NeoX)',
    usage: '--checkpoint <dir|file> --out <dir> [options]',
    note: 'The folder loads with transformers (from_pretrained) and back here: charlm sample --checkpoint <dir>.',
  },
};

/** How a number flag is checked; the message says what it must be. */
export type NumberCheck = 'int' | 'posint' | 'number' | 'posnum';

/** A TrainSettings field: a top-level key, or a path in the model config under `model.`. */
export type SettingPath = Exclude<keyof TrainSettings, 'model'> | `model.${string}`;

type FlagValue =
  | { type: 'boolean' }
  | { type: 'text'; arg: string }
  /** repeatable: every occurrence is kept, in order */
  | { type: 'list'; arg: string }
  | { type: 'choice'; arg: string; choices: readonly string[] }
  | { type: 'number'; arg: string; check: NumberCheck };

export type Flag = FlagValue & {
  name: string;
  short?: string;
  commands: readonly Command[];
  /** the help line (a function when it lists what is registered at run time); a choice flag's choices and any
   * default are added to it */
  help: string | (() => string);
  /** the group it is listed under in `charlm train --help` */
  section?: 'run' | 'model' | 'optimizer';
  /** used when the flag is not given (train settings come from the preset or the checkpoint instead) */
  default?: string | number;
  /** the training setting the flag sets */
  setting?: SettingPath;
  /** what a boolean flag sets its setting to */
  sets?: boolean;
  /** a setting that only decides when to evaluate, sample and checkpoint: a resumed run may change it */
  cadence?: boolean;
  /** the largest value a number flag accepts: sizes from flags never reach an allocation unchecked */
  max?: number;
  /** checked on the final settings (flag, preset or checkpoint): a message when the value is out of range */
  range?: (value: number, s: TrainSettings) => string | null;
};

const n = (check: NumberCheck) =>
  ({ type: 'number', arg: check === 'int' || check === 'posint' ? '<n>' : '<x>', check }) as const;
const ALL = ['train', 'sample', 'eval', 'export'] as const;

/**
 * Every flag of every command, once: parsing, help, the per-command check, the train settings and the names in the
 * settings diff are all read from here. A name may appear twice only for different commands (--seed of train and
 * of sample mean different things), and then with the same type.
 */
export const FLAGS = [
  { name: 'help', short: 'h', type: 'boolean', commands: ALL, help: 'this help' },
  // train: data and run
  {
    name: 'preset',
    type: 'choice',
    arg: '<name>',
    choices: PRESET_NAMES,
    commands: ['train'],
    section: 'run',
    help: '',
    default: 'tiny',
  },
  {
    name: 'data',
    type: 'text',
    arg: '<file>',
    commands: ['train'],
    section: 'run',
    help: 'UTF-8 text file to train on (default: the embedded Brown Corpus)',
  },
  {
    name: 'out',
    type: 'text',
    arg: '<dir>',
    commands: ['train'],
    section: 'run',
    help: 'run folder (default runs/<preset>, or runs/<preset>-2, -3... if that holds a run)',
  },
  {
    name: 'force',
    type: 'boolean',
    commands: ['train'],
    section: 'run',
    help: 'overwrite the run already in --out (default: refuse, so no run is lost)',
  },
  {
    name: 'iters',
    ...n('posint'),
    commands: ['train'],
    section: 'run',
    help: 'optimizer steps',
    setting: 'iters',
    cadence: true,
    max: 10_000_000,
  },
  {
    name: 'resume',
    type: 'boolean',
    commands: ['train'],
    section: 'run',
    help: 'continue the run in --out from its checkpoint (bit-for-bit)',
  },
  {
    name: 'stop-at',
    arg: '<step>',
    type: 'number',
    check: 'posint',
    commands: ['train'],
    section: 'run',
    help: 'checkpoint and stop at this step, to be resumed later (train in chunks)',
  },
  {
    name: 'backend',
    type: 'choice',
    arg: '<b>',
    choices: BACKEND_PREFERENCES,
    commands: ['train', 'sample', 'eval'],
    section: 'run',
    help: '',
    default: 'auto',
  },
  {
    name: 'plugin',
    type: 'list',
    arg: '<path>',
    commands: ['train', 'sample', 'eval', 'export'],
    section: 'run',
    help: 'a module or package folder to import first, e.g. one that registers a norm kind\n(repeatable; examples/custom-norm adds dyt)',
  },
  {
    name: 'seed',
    ...n('int'),
    commands: ['train'],
    section: 'run',
    help: 'seed for init and data order',
    default: 1337,
  },
  {
    name: 'checkpoint-every',
    ...n('posint'),
    commands: ['train'],
    section: 'run',
    help: 'write the checkpoint every n steps',
    setting: 'checkpointEvery',
    cadence: true,
  },
  {
    name: 'eval-every',
    ...n('posint'),
    commands: ['train'],
    section: 'run',
    help: 'validation loss and a sample every n steps',
    setting: 'evalEvery',
    cadence: true,
  },
  {
    name: 'eval-iters',
    ...n('posint'),
    commands: ['train'],
    section: 'run',
    help: 'validation batches per periodic eval',
    setting: 'evalIters',
    cadence: true,
    max: 100_000,
  },
  {
    name: 'final-eval-iters',
    ...n('posint'),
    commands: ['train'],
    section: 'run',
    help: 'validation batches for the final loss, at least 200',
    default: 200,
  },
  {
    name: 'sample-tokens',
    ...n('int'),
    commands: ['train'],
    section: 'run',
    help: 'length of the samples printed at each eval',
    setting: 'sampleTokens',
    cadence: true,
    max: 1_000_000,
  },
  {
    name: 'on-nan',
    type: 'choice',
    arg: '<mode>',
    choices: ['throw', 'skip'],
    commands: ['train'],
    section: 'run',
    help: 'what a NaN/Inf loss or gradient does',
    default: 'throw',
  },
  {
    name: 'probe',
    type: 'boolean',
    commands: ['train'],
    section: 'run',
    help: 'log per-layer activation RMS and per-parameter gradient norms (grad_norms)\nin metrics.jsonl at each eval',
  },
  // train: model
  {
    name: 'context',
    ...n('posint'),
    commands: ['train'],
    section: 'model',
    help: 'context length',
    setting: 'model.contextLength',
  },
  {
    name: 'd-model',
    ...n('posint'),
    commands: ['train'],
    section: 'model',
    help: 'model width',
    setting: 'model.dModel',
  },
  {
    name: 'layers',
    ...n('posint'),
    commands: ['train'],
    section: 'model',
    help: 'transformer blocks',
    setting: 'model.nLayers',
  },
  {
    name: 'heads',
    ...n('posint'),
    commands: ['train'],
    section: 'model',
    help: 'attention heads',
    setting: 'model.nHeads',
  },
  {
    name: 'kv-heads',
    ...n('posint'),
    commands: ['train'],
    section: 'model',
    help: 'key/value heads (grouped-query attention; must divide --heads; default: --heads)',
    setting: 'model.nKvHeads',
  },
  // the model config checks these kinds, so its message (which names the flag) lists the valid ones
  {
    name: 'norm',
    type: 'text',
    arg: '<kind>',
    commands: ['train'],
    section: 'model',
    // the registry's kinds: the built-ins and any a plugin registered
    help: () => normKinds().join(' | '),
    setting: 'model.norm.kind',
  },
  {
    name: 'placement',
    type: 'text',
    arg: '<p>',
    commands: ['train'],
    section: 'model',
    help: 'pre | post',
    setting: 'model.norm.placement',
  },
  {
    name: 'eps',
    ...n('posnum'),
    commands: ['train'],
    section: 'model',
    help: 'norm epsilon',
    setting: 'model.norm.eps',
  },
  {
    name: 'no-affine',
    type: 'boolean',
    commands: ['train'],
    section: 'model',
    help: 'norms without learned scale/shift',
    setting: 'model.norm.affine',
    sets: false,
  },
  {
    name: 'no-norm-bias',
    type: 'boolean',
    commands: ['train'],
    section: 'model',
    help: "LayerNorm without the learned shift (nanoGPT's bias=False)",
    setting: 'model.norm.bias',
    sets: false,
  },
  {
    name: 'ffn',
    type: 'text',
    arg: '<kind>',
    commands: ['train'],
    section: 'model',
    help: FFN_KINDS.join(' | '),
    setting: 'model.ffn.kind',
  },
  {
    name: 'hidden',
    ...n('posint'),
    commands: ['train'],
    section: 'model',
    help: 'FFN hidden width',
    setting: 'model.ffn.hiddenDim',
  },
  {
    name: 'positional',
    type: 'text',
    arg: '<kind>',
    commands: ['train'],
    section: 'model',
    help: 'rope | learned',
    setting: 'model.positional',
  },
  {
    name: 'untied',
    type: 'boolean',
    commands: ['train'],
    section: 'model',
    help: 'separate LM head (default: tied to the embedding)',
    setting: 'model.tieEmbeddings',
    sets: false,
  },
  {
    name: 'qk-norm',
    type: 'boolean',
    commands: ['train'],
    section: 'model',
    help: 'normalize queries and keys per head',
    setting: 'model.qkNorm',
    sets: true,
  },
  {
    name: 'final-norm',
    type: 'boolean',
    commands: ['train'],
    section: 'model',
    help: 'a norm before the LM head',
    setting: 'model.finalNorm',
    sets: true,
  },
  {
    name: 'no-final-norm',
    type: 'boolean',
    commands: ['train'],
    section: 'model',
    help: 'no norm before the LM head',
    setting: 'model.finalNorm',
    sets: false,
  },
  // train: optimizer
  {
    name: 'batch-size',
    ...n('posint'),
    commands: ['train'],
    section: 'optimizer',
    help: 'sequences per micro-batch',
    setting: 'batchSize',
    max: 4096,
  },
  { name: 'lr', ...n('posnum'), commands: ['train'], section: 'optimizer', help: 'peak learning rate', setting: 'lr' },
  {
    name: 'min-lr',
    ...n('number'),
    commands: ['train'],
    section: 'optimizer',
    help: 'learning rate at the end of the cosine decay',
    setting: 'minLr',
    range: (v, s) => (v < 0 || v > s.lr ? `--min-lr must be in [0, --lr = ${s.lr}], got ${v}` : null),
  },
  {
    name: 'warmup',
    ...n('int'),
    commands: ['train'],
    section: 'optimizer',
    help: 'linear warmup steps',
    setting: 'warmup',
  },
  {
    name: 'weight-decay',
    ...n('number'),
    commands: ['train'],
    section: 'optimizer',
    help: 'AdamW weight decay (matrices only)',
    setting: 'weightDecay',
    range: (v) => (v < 0 ? `--weight-decay must be >= 0, got ${v}` : null),
  },
  {
    name: 'beta1',
    ...n('number'),
    commands: ['train'],
    section: 'optimizer',
    help: 'AdamW beta1',
    setting: 'beta1',
    range: (v) => (v >= 0 && v < 1 ? null : `--beta1 must be in [0, 1), got ${v}`),
  },
  {
    name: 'beta2',
    ...n('number'),
    commands: ['train'],
    section: 'optimizer',
    help: 'AdamW beta2',
    setting: 'beta2',
    range: (v) => (v >= 0 && v < 1 ? null : `--beta2 must be in [0, 1), got ${v}`),
  },
  {
    name: 'grad-clip',
    ...n('number'),
    commands: ['train'],
    section: 'optimizer',
    help: 'clip the global gradient norm (0 = off)',
    setting: 'gradClip',
    range: (v) => (v < 0 ? `--grad-clip must be >= 0 (0 = off), got ${v}` : null),
  },
  {
    name: 'accum',
    ...n('posint'),
    commands: ['train'],
    section: 'optimizer',
    help: 'gradient accumulation: micro-batches per step',
    setting: 'gradAccumulation',
    max: 1024,
  },
  // sample and eval
  {
    name: 'checkpoint',
    type: 'text',
    arg: '<path>',
    commands: ['sample', 'eval', 'export'],
    help: 'run folder (uses its checkpoint.safetensors), a checkpoint file, or a Hugging Face folder (sample, eval)',
  },
  {
    name: 'format',
    type: 'choice',
    arg: '<f>',
    choices: ['hf'],
    commands: ['export'],
    help: 'hf: a transformers folder (config.json, model.safetensors, tokenizer)',
    default: 'hf',
  },
  { name: 'out', type: 'text', arg: '<dir>', commands: ['export'], help: 'the folder to write' },
  { name: 'force', type: 'boolean', commands: ['export'], help: 'write into an --out that already holds files' },
  { name: 'prompt', type: 'text', arg: '<text>', commands: ['sample'], help: 'text to continue (default: a newline)' },
  { name: 'tokens', ...n('int'), commands: ['sample'], help: 'characters to generate', default: 300, max: 1_000_000 },
  {
    name: 'temperature',
    type: 'number',
    arg: '<t>',
    check: 'number',
    commands: ['sample'],
    help: '<= 0 means greedy',
    default: 0.8,
  },
  {
    name: 'top-k',
    ...n('int'),
    commands: ['sample'],
    help: 'keep the k most likely characters (0 = off; above the vocabulary size: all)',
    default: 0,
  },
  {
    name: 'top-p',
    type: 'number',
    arg: '<p>',
    check: 'number',
    commands: ['sample'],
    help: 'nucleus sampling in (0, 1] (1 = off)',
    default: 1,
  },
  { name: 'seed', ...n('int'), commands: ['sample'], help: 'sampling seed', default: 0 },
  {
    name: 'no-cache',
    type: 'boolean',
    commands: ['sample'],
    help: 'recompute the whole window per token (slower; for comparison)',
  },
  {
    name: 'data',
    type: 'text',
    arg: '<file>',
    commands: ['eval'],
    help: 'text to evaluate on: its last 10% (default: the Brown Corpus)',
  },
  { name: 'batches', ...n('posint'), commands: ['eval'], help: 'validation batches', default: 200, max: 100_000 },
  { name: 'batch-size', ...n('posint'), commands: ['eval'], help: 'sequences per batch', default: 12, max: 4096 },
] as const satisfies readonly Flag[];

export type FlagName = (typeof FLAGS)[number]['name'];

/** The flags `command` takes, in table order. */
export function flagsOf(command: Command): Flag[] {
  return (FLAGS as readonly Flag[]).filter((f) => f.commands.includes(command));
}

/** The flag `name` of `command`; throws on a name the table does not give that command (a bug, not user input). */
export function flagOf(command: Command, name: FlagName): Flag {
  const f = flagsOf(command).find((x) => x.name === name);
  if (!f) throw new Error(`charlm ${command} has no flag --${name}`);
  return f;
}
