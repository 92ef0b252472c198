// Builds what the child-process tests run: the compiled CLI (`node <dir>/cli.js ...`, as a user runs it), fixtures
// that import @tinyformer/model from its dist, and the custom-norm example the --plugin tests load (its dist imports
// the packages' dists, as the compiled CLI does).
import { buildForTests } from '@tinyformer/vitest-config/build';
import type { TestProject } from 'vitest/node';
import { CHARLM } from './paths.js';

export default function setup(project: TestProject): () => void {
  const built = buildForTests(CHARLM, [
    'packages/tensor',
    'packages/data',
    'packages/autograd',
    'packages/norm',
    'packages/ffn',
    'packages/attention',
    'packages/model',
    'packages/recipe',
    'examples/custom-norm',
  ]);
  project.provide('charlmCli', built.entry('cli.js'));
  return built.cleanup;
}
