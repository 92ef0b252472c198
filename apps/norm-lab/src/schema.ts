import { z } from 'zod';

/**
 * The schema of results.json, the one source of the lab's result types. A field that must be a finite number is
 * z.number() (JSON writes NaN and Infinity as null, so a stray one fails validation); a measurement that may
 * legitimately blow up (a diverging run's loss) is nullable and comes with a flag saying so.
 */

const num = z.number();
const maybe = z.number().nullable();
const count = z.number().int().nonnegative();
/** a norm kind: a built-in one or one that a --plugin registered */
const normName = z.string().regex(/^[a-z][a-z0-9_-]*$/);

export const statusSchema = z.enum(['agrees', 'partly', 'disagrees', 'inconclusive']);
export type Status = z.infer<typeof statusSchema>;

export const verdictSchema = z.strictObject({
  claim: z.string().min(1),
  status: statusSchema,
  /** the measured numbers behind the status, in words */
  evidence: z.string().min(1),
});
export type Verdict = z.infer<typeof verdictSchema>;

const modelShapeSchema = z.looseObject({
  contextLength: count,
  dModel: count,
  nLayers: count,
  nHeads: count,
});

const scheduleSchema = z.strictObject({ lr: num, warmup: count, decaySteps: count, minLr: num });

const layerNormsSchema = z.strictObject({
  step: count,
  layers: z.array(z.strictObject({ layer: count, norm: maybe })),
  other: z.array(z.strictObject({ group: z.string(), norm: maybe })),
  total: maybe,
});

export const runSchema = z.strictObject({
  label: z.string(),
  stepsPlanned: count,
  stepsRun: count,
  losses: z.array(maybe),
  gradNormCurve: z.array(maybe),
  val: z.array(z.strictObject({ step: count, loss: maybe })),
  finalVal: maybe,
  initialLoss: maybe,
  tailLoss: maybe,
  nonFiniteSteps: count,
  firstNonFiniteStep: z.number().int().nullable(),
  stoppedAt: z.number().int().nullable(),
  diverged: z.boolean(),
  divergedReason: z.string().nullable(),
  gradNorms: z.array(layerNormsSchema),
  seconds: num,
  tokensPerSec: num,
});

// --- speed
export const speedDataSchema = z.strictObject({
  kernels: z.array(
    z.strictObject({
      backend: z.string(),
      rows: count,
      dim: count,
      variant: z.enum(['fused', 'composite']),
      rmsMs: num,
      layerMs: num,
      /** LayerNorm ms / RMSNorm ms: > 1 means RMSNorm is faster */
      speedup: num,
    }),
  ),
  steps: z.array(
    z.strictObject({
      backend: z.string(),
      model: modelShapeSchema,
      batchSize: count,
      tokensPerStep: count,
      rmsnorm: z.strictObject({ stepMs: z.array(num), medianMs: num, tokensPerSec: num }),
      layernorm: z.strictObject({ stepMs: z.array(num), medianMs: num, tokensPerSec: num }),
      /** RMSNorm tokens/s / LayerNorm tokens/s */
      speedup: num,
    }),
  ),
});
export type SpeedData = z.infer<typeof speedDataSchema>;

// --- quality
export const qualityDataSchema = z.strictObject({
  model: modelShapeSchema,
  batchSize: count,
  schedule: scheduleSchema,
  seeds: z.array(count),
  /** 'rmsnorm', 'layernorm', then each norm kind a --plugin added */
  runs: z.array(z.strictObject({ norm: normName, seed: count, run: runSchema })),
  summary: z.strictObject({
    rmsnormFinalVal: maybe,
    layernormFinalVal: maybe,
    /** LayerNorm - RMSNorm, mean over seeds */
    difference: maybe,
    relativeDifference: maybe,
    /** largest spread between seeds of the same norm (0 with one seed) */
    seedSpread: num,
    /** each plugin kind against RMSNorm */
    extra: z.array(
      z.strictObject({
        norm: normName,
        finalVal: maybe,
        /** this kind - RMSNorm, mean over seeds */
        difference: maybe,
        /** difference / RMSNorm's */
        relativeToRmsnorm: maybe,
        /** largest spread between seeds of RMSNorm or this kind */
        seedSpread: num,
      }),
    ),
  }),
});
export type QualityData = z.infer<typeof qualityDataSchema>;

// --- depth
export const depthDataSchema = z.strictObject({
  depths: z.array(count),
  dModel: count,
  nHeads: count,
  contextLength: count,
  batchSize: count,
  lr: num,
  warmupSteps: count,
  steps: count,
  runs: z.array(
    z.strictObject({
      /** 'layernorm' (every placement), or a plugin kind (pre-norm only) */
      norm: normName,
      placement: z.enum(['pre', 'post']),
      depth: count,
      warmup: z.boolean(),
      run: runSchema,
    }),
  ),
  /** the per-layer gradient norms of the deepest models, summarized: at init and after the last step */
  gradientTrend: z.array(
    z.strictObject({
      norm: normName,
      placement: z.enum(['pre', 'post']),
      depth: count,
      when: z.enum(['init', 'trained']),
      /** which run it comes from (at init both runs see the same weights and batch) */
      warmup: z.boolean(),
      /** d log(norm) / d layer: > 0 means gradients shrink going down from the output to the input */
      logSlope: maybe,
      /** norm of block 0 / norm of the last block */
      firstOverLast: maybe,
    }),
  ),
});
export type DepthData = z.infer<typeof depthDataSchema>;

// --- residual
const probeLayerSchema = z.strictObject({
  layer: count,
  norm1_out: num,
  resid_mid: num,
  norm2_out: num,
  resid_out: num,
});

export const residualDataSchema = z.strictObject({
  model: modelShapeSchema,
  batchSize: count,
  steps: count,
  schedule: scheduleSchema,
  run: runSchema,
  probes: z.array(
    z.strictObject({
      when: z.enum(['init', 'trained']),
      step: count,
      /** RMS of the token (+ position) embedding: the residual stream before block 0 */
      embedRms: num,
      layers: z.array(probeLayerSchema),
      /** resid_out of the last block / resid_out of block 0 */
      residualGrowth: num,
      /** the norm output RMS furthest from 1, as a factor (1 = exactly unit scale) */
      normOutWorstFactor: num,
    }),
  ),
});
export type ResidualData = z.infer<typeof residualDataSchema>;

const experimentBase = {
  title: z.string(),
  claim: z.string(),
  verdicts: z.array(verdictSchema).min(1),
  seconds: num,
};

export const experimentsSchema = z.strictObject({
  speed: z.strictObject({ ...experimentBase, data: speedDataSchema }).optional(),
  quality: z.strictObject({ ...experimentBase, data: qualityDataSchema }).optional(),
  depth: z.strictObject({ ...experimentBase, data: depthDataSchema }).optional(),
  residual: z.strictObject({ ...experimentBase, data: residualDataSchema }).optional(),
});

export const EXPERIMENTS = ['speed', 'quality', 'depth', 'residual'] as const;
export type ExperimentName = (typeof EXPERIMENTS)[number];

export const resultsSchema = z.strictObject({
  tool: z.literal('norm-lab'),
  version: z.literal(1),
  createdAt: z.string(),
  size: z.enum(['quick', 'full', 'custom']),
  backend: z.string(),
  data: z.strictObject({
    source: z.string(),
    chars: count,
    vocabSize: count,
    trainTokens: count,
    valTokens: count,
  }),
  seed: count,
  environment: z.strictObject({ node: z.string(), platform: z.string(), cpus: count, cpuModel: z.string() }),
  /** the --plugin modules imported before the experiments, and the norm kinds each one added */
  plugins: z.array(
    z.strictObject({
      path: z.string(),
      module: z.string(),
      kinds: z.array(z.strictObject({ kind: normName, description: z.string() })).min(1),
    }),
  ),
  seconds: num,
  experiments: experimentsSchema,
});
export type LabResults = z.infer<typeof resultsSchema>;

type Experiments = z.infer<typeof experimentsSchema>;
export type ExperimentResult<K extends ExperimentName> = NonNullable<Experiments[K]>;
