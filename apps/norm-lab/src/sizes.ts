import type { ModelConfigInput } from '@tinyformer/model';

type ModelShape = Omit<ModelConfigInput, 'vocabSize'> & {
  contextLength: number;
  dModel: number;
  nLayers: number;
  nHeads: number;
};

export interface SpeedSize {
  /** tokens x width of the norm-only benchmark */
  shapes: [number, number][];
  /** interleaved timing runs per shape for the fused kernels (median reported) */
  fusedRuns: number;
  /** the same for the composite (primitive-op) versions; 0 skips them */
  compositeRuns: number;
  /** the model whose whole training step is timed with each norm */
  stepModel: ModelShape;
  stepBatch: number;
  /** untimed steps per norm first (allocation pools, JIT) */
  stepWarmup: number;
  /** timed steps per norm, interleaved between the two models */
  stepRuns: number;
}

export interface QualitySize {
  model: ModelShape;
  batchSize: number;
  steps: number;
  lr: number;
  minLr: number;
  warmup: number;
  evalEvery: number;
  evalBatches: number;
  finalEvalBatches: number;
  /** offsets added to --seed; one run per norm per seed */
  seeds: number[];
}

export interface DepthSize {
  depths: number[];
  dModel: number;
  nHeads: number;
  contextLength: number;
  batchSize: number;
  steps: number;
  /** the fixed peak learning rate of every run; not tuned per depth on purpose */
  lr: number;
  /** linear warmup steps of the "with warmup" runs */
  warmup: number;
  finalEvalBatches: number;
}

export interface ResidualSize {
  model: ModelShape;
  batchSize: number;
  steps: number;
  lr: number;
  warmup: number;
}

export interface LabSizes {
  speed: SpeedSize;
  quality: QualitySize;
  depth: DepthSize;
  residual: ResidualSize;
}

const NORM_SHAPES: [number, number][] = [
  [768, 128],
  [8192, 768],
  [16384, 1024],
];

/**
 * full: the report, about 15 minutes on a 2-core CPU in total (see the README for the measured split).
 * quick: the same experiments scaled down to seconds each (CI runs `run all --quick`); the numbers are for smoke
 * testing, too small and noisy to judge a claim by.
 */
export const SIZES: Record<'quick' | 'full', LabSizes> = {
  full: {
    speed: {
      shapes: NORM_SHAPES,
      fusedRuns: 9,
      compositeRuns: 3,
      // charlm's tiny preset: the model people train first
      stepModel: { contextLength: 64, dModel: 96, nLayers: 3, nHeads: 4 },
      stepBatch: 16,
      stepWarmup: 2,
      stepRuns: 15,
    },
    quality: {
      // charlm's tiny preset model and recipe, cut to fit the budget
      model: { contextLength: 64, dModel: 96, nLayers: 3, nHeads: 4 },
      batchSize: 16,
      steps: 400,
      lr: 3e-3,
      minLr: 3e-4,
      warmup: 40,
      evalEvery: 50,
      evalBatches: 10,
      finalEvalBatches: 50,
      // two seeds per norm: the seed-to-seed spread is the yardstick for "equal"
      seeds: [0, 1],
    },
    depth: {
      depths: [2, 6, 12, 24],
      dModel: 32,
      nHeads: 2,
      contextLength: 32,
      batchSize: 8,
      steps: 250,
      lr: 3e-3,
      warmup: 50,
      finalEvalBatches: 20,
    },
    residual: {
      model: { contextLength: 32, dModel: 64, nLayers: 12, nHeads: 4 },
      batchSize: 8,
      steps: 200,
      lr: 3e-3,
      warmup: 20,
    },
  },
  quick: {
    speed: {
      shapes: NORM_SHAPES,
      fusedRuns: 3,
      compositeRuns: 0,
      stepModel: { contextLength: 32, dModel: 64, nLayers: 2, nHeads: 4 },
      stepBatch: 8,
      stepWarmup: 1,
      stepRuns: 5,
    },
    quality: {
      model: { contextLength: 32, dModel: 32, nLayers: 2, nHeads: 2 },
      batchSize: 8,
      steps: 80,
      lr: 3e-3,
      minLr: 3e-4,
      warmup: 10,
      evalEvery: 20,
      evalBatches: 4,
      finalEvalBatches: 10,
      seeds: [0],
    },
    depth: {
      depths: [2, 6, 12, 24],
      dModel: 16,
      nHeads: 2,
      contextLength: 16,
      batchSize: 4,
      steps: 20,
      lr: 3e-3,
      warmup: 5,
      finalEvalBatches: 4,
    },
    residual: {
      model: { contextLength: 32, dModel: 32, nLayers: 6, nHeads: 2 },
      batchSize: 8,
      steps: 30,
      lr: 3e-3,
      warmup: 5,
    },
  },
};
