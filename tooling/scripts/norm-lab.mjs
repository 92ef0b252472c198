#!/usr/bin/env node
// `pnpm norm-lab <args>` from the repo root: builds the norm lab and the packages it uses (turbo; cached after the
// first time, output shown only on failure), then runs the CLI with the given arguments.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const build = spawnSync(
  'pnpm',
  ['exec', 'turbo', 'run', 'build', '--filter=@tinyformer/norm-lab...', '--output-logs=errors-only'],
  {
    cwd: root,
    encoding: 'utf8',
  },
);
if (build.status !== 0) {
  process.stderr.write(`${build.stdout ?? ''}${build.stderr ?? ''}\nnorm-lab: the build failed (see above)\n`);
  process.exit(build.status ?? 1);
}
const { run } = await import(join(root, 'apps/norm-lab/dist/cli.js'));
await run(process.argv.slice(2));
