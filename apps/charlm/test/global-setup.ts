// Builds what the child-process tests run: the compiled CLI (`node <dir>/cli.js ...`, as a user runs it) and
// fixtures that import @tinyformer/model from its dist. Workspace packages whose dist is older than their sources
// are rebuilt first (turbo's `^build` has normally done that already); charlm itself is compiled into a folder of
// this run's own under .cache, so concurrent test runs and the real dist never meet. tsc emits JavaScript even when
// an unrelated file has a type error: typechecking is the typecheck task's job.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { CHARLM } from './paths.js';

const ROOT = join(CHARLM, '..', '..');
const DEPS = ['tensor', 'data', 'autograd', 'norm', 'ffn', 'attention', 'model'];

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
      newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function tsc(project: string, extra: string[] = []): void {
  spawnSync(join(CHARLM, 'node_modules', '.bin', 'tsc'), ['-p', project, ...extra], { cwd: CHARLM, stdio: 'ignore' });
}

export default function setup(project: TestProject): () => void {
  for (const name of DEPS) {
    const pkg = join(ROOT, 'packages', name);
    const out = join(pkg, 'dist', 'index.js');
    if (!existsSync(out) || statSync(out).mtimeMs < newestSource(join(pkg, 'src'))) {
      tsc(join(pkg, 'tsconfig.build.json'));
    }
  }
  // the --plugin tests load the custom-norm example's dist, which imports the packages' dists like the CLI does
  const example = join(ROOT, 'examples', 'custom-norm');
  const exampleOut = join(example, 'dist', 'index.js');
  if (!existsSync(exampleOut) || statSync(exampleOut).mtimeMs < newestSource(join(example, 'src'))) {
    tsc(join(example, 'tsconfig.build.json'));
  }
  const dist = join(CHARLM, '.cache', `test-dist-${process.pid}`);
  tsc(join(CHARLM, 'tsconfig.build.json'), [
    '--outDir',
    dist,
    '--declaration',
    'false',
    '--declarationMap',
    'false',
    '--sourceMap',
    'false',
  ]);
  const cli = join(dist, 'cli.js');
  if (!existsSync(cli)) throw new Error(`global-setup: compiling charlm into ${dist} failed`);
  project.provide('charlmCli', cli);
  return () => rmSync(dist, { recursive: true, force: true });
}
