// Builds what the child-process tests run: the compiled CLI (`node <dir>/cli.js ...`, as a user runs it) and the
// custom-norm example they load with --plugin. Both import @tinyformer/norm from its dist, so the plugin registers
// into the registry the CLI reads; the tests' own imports resolve to the TypeScript sources instead (a separate
// registry), which is why the plugin path is tested through the compiled CLI. Workspace packages whose dist is
// older than their sources are rebuilt first; norm-lab itself is compiled into a folder of this run's own under
// .cache, so concurrent test runs and the real dist never meet. tsc emits JavaScript even when an unrelated file
// has a type error: typechecking is the typecheck task's job.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { NORM_LAB } from './paths.js';

const ROOT = join(NORM_LAB, '..', '..');
// in build order: what norm-lab's dist imports, then the example plugin
const DEPS = [
  'packages/tensor',
  'packages/data',
  'packages/autograd',
  'packages/norm',
  'packages/ffn',
  'packages/attention',
  'packages/model',
  'apps/charlm',
  'examples/custom-norm',
];

/** True when some source file has no compiled .js in dist, or one older than itself (tsc re-emits what changed). */
function stale(pkg: string, sub = ''): boolean {
  for (const entry of readdirSync(join(pkg, 'src', sub), { withFileTypes: true })) {
    const rel = join(sub, entry.name);
    if (entry.isDirectory()) {
      if (stale(pkg, rel)) return true;
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')) {
      const out = join(pkg, 'dist', rel.replace(/\.ts$/, '.js'));
      if (!existsSync(out) || statSync(out).mtimeMs < statSync(join(pkg, 'src', rel)).mtimeMs) return true;
    }
  }
  return false;
}

function tsc(project: string, extra: string[] = []): void {
  spawnSync(join(NORM_LAB, 'node_modules', '.bin', 'tsc'), ['-p', project, ...extra], {
    cwd: NORM_LAB,
    stdio: 'ignore',
  });
}

export default function setup(project: TestProject): () => void {
  for (const rel of DEPS) {
    const pkg = join(ROOT, rel);
    if (stale(pkg)) tsc(join(pkg, 'tsconfig.build.json'));
  }
  const plugin = join(ROOT, 'examples', 'custom-norm', 'dist', 'index.js');
  if (!existsSync(plugin)) throw new Error(`global-setup: building examples/custom-norm into ${plugin} failed`);
  const dist = join(NORM_LAB, '.cache', `test-dist-${process.pid}`);
  tsc(join(NORM_LAB, 'tsconfig.build.json'), [
    '--outDir',
    dist,
    '--declaration',
    'false',
    '--declarationMap',
    'false',
    '--sourceMap',
    'false',
    // its own incremental state: the shared one describes the real dist
    '--tsBuildInfoFile',
    join(dist, 'tsbuildinfo.json'),
  ]);
  const cli = join(dist, 'cli.js');
  if (!existsSync(cli)) throw new Error(`global-setup: compiling norm-lab into ${dist} failed`);
  project.provide('normLabCli', cli);
  return () => rmSync(dist, { recursive: true, force: true });
}
