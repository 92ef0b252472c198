import { type TrainLoopOptions, trainLoop } from '@tinyformer/recipe';

/**
 * Steps several runs in turn, one step of each per round, so drifts in machine load hit them all alike (the
 * benchmarks). With `rotate`, round i starts at run i mod n, so no run always follows the same other run.
 */
export async function trainInterleaved(
  runs: readonly Omit<TrainLoopOptions, 'until'>[],
  rounds: number,
  opts: { rotate?: boolean } = {},
): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    for (let j = 0; j < runs.length; j++) {
      const run = runs[opts.rotate ? (i + j) % runs.length : j]!;
      await trainLoop({ ...run, until: run.trainer.step + 1 });
    }
  }
}
