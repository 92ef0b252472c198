import { FFN_KINDS } from '@tinyformer/ffn';
import { normKind, normKinds } from '@tinyformer/norm';
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

// zod/mini: the same validation as zod's classic API, tree-shakable (a page that trains a model stays small)
const positiveInt = z.int().check(z.positive());
/** A positive integer with a sane upper bound: sizes from files and flags never reach an allocation unchecked. */
const sizeUpTo = (max: number) => z.int().check(z.positive(), z.lte(max));

/**
 * Upper bounds of every size in a model config (far above what a JS runtime trains, far below what overflows
 * typed arrays), and of the total parameter count (2^31 floats = 8 GiB of float32).
 */
export const MODEL_LIMITS = {
  vocabSize: 2 ** 21,
  contextLength: 2 ** 20,
  dModel: 2 ** 16,
  nLayers: 1024,
  nHeads: 1024,
  hiddenDim: 2 ** 18,
  parameters: 2 ** 31,
} as const;

const normSchema = z.strictObject({
  /** a registered norm kind (@tinyformer/norm's registry: the built-ins and any a user package adds) */
  kind: z._default(z.string(), 'rmsnorm'),
  placement: z._default(z.enum(['pre', 'post']), 'pre'),
  eps: z._default(z.number().check(z.positive(), z.lte(1)), 1e-5),
  /** learned scale (and, for LayerNorm, shift) */
  affine: z._default(z.boolean(), true),
  /** LayerNorm only: learned shift */
  bias: z._default(z.boolean(), true),
});

const ffnSchema = z.strictObject({
  kind: z._default(z.enum(FFN_KINDS), 'swiglu'),
  /** default: 4*dModel for gelu, 8/3*dModel rounded up to a multiple of 8 for swiglu */
  hiddenDim: z.optional(sizeUpTo(MODEL_LIMITS.hiddenDim)),
});

/** The zod/mini schema of a model config: field types, defaults and cross-field rules (see resolveModelConfig). */
export const modelConfigSchema = z
  .strictObject({
    vocabSize: sizeUpTo(MODEL_LIMITS.vocabSize),
    contextLength: sizeUpTo(MODEL_LIMITS.contextLength),
    dModel: sizeUpTo(MODEL_LIMITS.dModel),
    nLayers: sizeUpTo(MODEL_LIMITS.nLayers),
    nHeads: sizeUpTo(MODEL_LIMITS.nHeads),
    /**
     * key/value heads (grouped-query attention); must divide nHeads. Left out = nHeads (multi-head), and then it
     * stays out of the resolved config, so checkpoints of multi-head models keep their bytes.
     */
    nKvHeads: z.optional(positiveInt),
    norm: z._default(normSchema, { kind: 'rmsnorm', placement: 'pre', eps: 1e-5, affine: true, bias: true }),
    ffn: z._default(ffnSchema, { kind: 'swiglu' }),
    positional: z._default(z.enum(['rope', 'learned']), 'rope'),
    tieEmbeddings: z._default(z.boolean(), true),
    /** norm before the LM head; default true for pre-norm, and it must be false for post-norm */
    finalNorm: z.optional(z.boolean()),
    /** per-head QK-norm with the block's norm kind */
    qkNorm: z._default(z.boolean(), false),
    /** bias terms in the linear layers */
    bias: z._default(z.boolean(), false),
    ropeBase: z._default(z.number().check(z.positive()), 10000),
  })
  .check(
    z.superRefine((c, ctx) => {
      const params = approxParameters(c);
      if (params > MODEL_LIMITS.parameters) {
        ctx.addIssue({
          code: 'custom',
          path: [],
          message: `the model would have about ${params.toExponential(2)} parameters; the limit is 2^31 (8 GiB of float32)`,
        });
      }
      if (c.nKvHeads !== undefined && c.nHeads % c.nKvHeads !== 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['nKvHeads'],
          message: `nKvHeads ${c.nKvHeads} must divide nHeads ${c.nHeads}`,
        });
      }
      if (c.dModel % c.nHeads !== 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['nHeads'],
          message: `dModel ${c.dModel} must be divisible by nHeads ${c.nHeads}`,
        });
      } else if (c.positional === 'rope' && (c.dModel / c.nHeads) % 2 !== 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['positional'],
          message: `rope needs an even head dim, got dModel/nHeads = ${c.dModel / c.nHeads}`,
        });
      }
      if (c.norm.placement === 'post' && c.finalNorm === true) {
        ctx.addIssue({
          code: 'custom',
          path: ['finalNorm'],
          message: 'post-norm blocks already end in a norm: finalNorm must be false with norm.placement "post"',
        });
      }
      const norm = normKind(c.norm.kind);
      if (!norm) {
        const allowed = normKinds()
          .map((k) => JSON.stringify(k))
          .join(' | ');
        ctx.addIssue({
          code: 'custom',
          path: ['norm', 'kind'],
          message: `must be one of ${allowed}, got ${JSON.stringify(c.norm.kind)}`,
        });
      } else if (c.qkNorm && norm.normalizes === false) {
        ctx.addIssue({
          code: 'custom',
          path: ['qkNorm'],
          message: `qkNorm needs a norm kind other than "${c.norm.kind}"`,
        });
      }
    }),
  );

/** The matrices' parameters (norms and biases are O(dModel) each and left out): enough to bound the size. */
function approxParameters(c: {
  vocabSize: number;
  contextLength: number;
  dModel: number;
  nLayers: number;
  positional: string;
  tieEmbeddings: boolean;
  ffn: { kind: string; hiddenDim?: number | undefined };
}): number {
  const C = c.dModel;
  const hidden = c.ffn.hiddenDim ?? (c.ffn.kind === 'gelu' ? 4 * C : Math.ceil((8 * C) / 3));
  const ffn = (c.ffn.kind === 'swiglu' ? 3 : 2) * C * hidden;
  const embeddings =
    c.vocabSize * C * (c.tieEmbeddings ? 1 : 2) + (c.positional === 'learned' ? c.contextLength * C : 0);
  return embeddings + c.nLayers * (4 * C * C + ffn);
}

/** What a user writes: every field with a default may be left out. */
export type ModelConfigInput = z.input<typeof modelConfigSchema>;
/** The resolved config: every field present. */
export type ModelConfig = Omit<z.output<typeof modelConfigSchema>, 'finalNorm'> & { finalNorm: boolean };

const ENGLISH = en().localeError;

/** An invalid model config; the message lists every problem, `issues` has them one by one. */
export class ConfigError extends Error {
  /**
   * @param message - The whole report.
   * @param issues - Each problem by field path.
   */
  constructor(
    message: string,
    /** each problem: the field's dotted path and what is wrong */
    readonly issues: readonly { path: string; message: string }[],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Validates and fills defaults; errors name each field path and, for enums, the allowed values.
 *
 * @param input - A config (ModelConfigInput), e.g. parsed from JSON.
 * @param where - Names the config in the error message (default 'model config').
 * @returns The config with every default filled in.
 * @throws {@link ConfigError} listing each invalid field.
 */
export function resolveModelConfig(input: unknown, where = 'model config'): ModelConfig {
  // zod's English messages, per parse (zod/mini loads no locale, and setting one globally would reach the user's zod)
  const r = modelConfigSchema.safeParse(input, { reportInput: true, error: ENGLISH });
  if (!r.success) {
    const issues = r.error.issues.map((i) => {
      const path = i.path.join('.') || '(root)';
      const { keys, values, input: got } = i as { keys?: string[]; values?: unknown[]; input?: unknown };
      const message = keys
        ? `unknown field${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}`
        : i.code === 'invalid_value' && values
          ? `must be one of ${values.map((v) => JSON.stringify(v)).join(' | ')}, got ${JSON.stringify(got)}`
          : i.message;
      // an unknown field's path is the field itself ('norm.bar'), at the root and nested alike
      return { path: keys ? keys.map((k) => [...i.path, k].join('.')).join(',') : path, message };
    });
    throw new ConfigError(`invalid ${where}:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`, issues);
  }
  // finalNorm last whether or not it was given, so a config saved from a reloaded model has the same key order
  const { finalNorm, ...c } = r.data;
  return { ...c, finalNorm: finalNorm ?? c.norm.placement === 'pre' };
}
