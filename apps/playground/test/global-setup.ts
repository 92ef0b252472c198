// What the e2e test needs before it runs: the workspace dists the app bundles (rebuilt where a source is newer; turbo's
// ^build has normally done it), the app itself built by Vite into dist/ (the static site the test serves), and
// charlm's CLI compiled into a folder of this run's own, to sample the page's checkpoint and to write one for the page.
import { join } from 'node:path';
import { buildForTests } from '@tinyformer/vitest-config/build';
import { build } from 'vite';
import type { TestProject } from 'vitest/node';
import { APP, CHARLM } from './paths.js';

export default async function setup(project: TestProject): Promise<() => void> {
  const charlm = buildForTests(CHARLM, [
    'packages/tensor',
    'packages/data',
    'packages/autograd',
    'packages/norm',
    'packages/ffn',
    'packages/attention',
    'packages/model',
    'packages/recipe',
  ]);
  await build({ root: APP, configFile: join(APP, 'vite.config.ts'), logLevel: 'warn' });
  project.provide('charlmCli', charlm.entry('cli.js'));
  return charlm.cleanup;
}
