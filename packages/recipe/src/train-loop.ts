import type { StepResult, Trainer, TrainStepOptions } from '@tinyformer/model';

/** One step as the loop reports it. */
export interface LoopStep {
  /** 1-based, as in the logs and metrics.jsonl */
  step: number;
  /** what Trainer.trainStep returned: loss, learning rate, gradient norm, skipped */
  result: StepResult;
  /** wall time of Trainer.trainStep: batches, forward, backward, update */
  ms: number;
}

/** What {@link trainLoop} runs. */
export interface TrainLoopOptions {
  /** the Trainer that takes the steps */
  trainer: Trainer;
  /** gives each micro-batch; a BatchSampler */
  sampler: { next(): { x: Int32Array; y: Int32Array }; batchSize: number; contextLength: number };
  /** run until the trainer has taken this many steps (a resumed trainer starts past 0) */
  until: number;
  /** before each step, outside the timing: a turn of the event loop for signals, fault injection */
  beforeStep?: (step: number) => void | Promise<void>;
  /** per-step options of Trainer.trainStep, e.g. a gradient hook on the steps that record gradient norms */
  stepOptions?: (step: number) => TrainStepOptions;
  /** after each step: metrics, evals, checkpoints; returning true stops the loop */
  afterStep?: (s: LoopStep) => boolean | undefined | Promise<boolean | undefined>;
}

/**
 * The training loop of charlm train, charlm bench, the norm lab and the playground: what differs between them lives
 * in the hooks. Errors (a NonFiniteError under onNonFinite 'throw') go to the caller.
 *
 * @param o - The trainer, the sampler, the last step and the hooks.
 * @returns Whether `afterStep` stopped the loop before `until`.
 */
export async function trainLoop(o: TrainLoopOptions): Promise<{ stopped: boolean }> {
  const { trainer, sampler } = o;
  const nextBatch = () => ({ ...sampler.next(), batchSize: sampler.batchSize, contextLength: sampler.contextLength });
  while (trainer.step < o.until) {
    const step = trainer.step + 1;
    await o.beforeStep?.(step);
    const t0 = performance.now();
    const result = await trainer.trainStep(nextBatch, o.stepOptions?.(step) ?? {});
    const ms = performance.now() - t0;
    if (await o.afterStep?.({ step, result, ms })) return { stopped: true };
  }
  return { stopped: false };
}
