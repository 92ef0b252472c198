// Builds what the child-process tests run: the compiled CLI (`node <dir>/cli.js ...`, as a user runs it) and the
// custom-norm example they load with --plugin. Both import @tinyformer/norm from its dist, so the plugin registers
// into the registry the CLI reads; the tests' own imports resolve to the TypeScript sources instead (a separate
// registry), which is why the plugin path is tested through the compiled CLI.
import { buildForTests } from '@tinyformer/vitest-config/build';
import type { TestProject } from 'vitest/node';
import { NORM_LAB } from './paths.js';

export default function setup(project: TestProject): () => void {
  // in build order: what norm-lab's dist imports, then the example plugin
  const built = buildForTests(NORM_LAB, [
    'packages/tensor',
    'packages/data',
    'packages/autograd',
    'packages/norm',
    'packages/ffn',
    'packages/attention',
    'packages/model',
    'packages/recipe',
    'apps/charlm',
    'examples/custom-norm',
  ]);
  project.provide('normLabCli', built.entry('cli.js'));
  return built.cleanup;
}
