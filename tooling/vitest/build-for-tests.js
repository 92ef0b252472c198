// What the apps' child-process tests need before they run: the workspace dists their compiled CLI imports, rebuilt
// where a source is newer than its output (turbo's `^build` has normally done that already), and the app itself
// compiled into a folder of the test run's own under .cache, so concurrent runs and the real dist never meet. tsc
// emits JavaScript even when an unrelated file has a type error: typechecking is the typecheck task's job.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** True when some source file has no compiled .js in dist, or one older than itself (tsc re-emits what changed). */
function stale(pkg, sub = '') {
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

/**
 * Rebuilds the dists of `deps` where a source is newer than its output, with the tsc in `from`'s node_modules.
 * @param {string} from a package directory two levels below the repository root, whose node_modules has tsc
 * @param {string[]} deps directories relative to the repository root, in build order
 */
export function buildStale(from, deps) {
  const root = join(from, '..', '..');
  for (const rel of deps) {
    const pkg = join(root, rel);
    if (!stale(pkg)) continue;
    spawnSync(join(from, 'node_modules', '.bin', 'tsc'), ['-p', join(pkg, 'tsconfig.build.json')], {
      cwd: from,
      stdio: 'ignore',
    });
    if (stale(pkg)) throw new Error(`global-setup: building ${rel} left sources without compiled output`);
  }
}

/**
 * @param {string} app the app's directory (its node_modules has tsc)
 * @param {string[]} deps directories relative to the repository root, in build order
 * @returns {{ entry: (file: string) => string, cleanup: () => void }} the compiled app's files, and their removal
 */
export function buildForTests(app, deps) {
  buildStale(app, deps);
  const tsc = (project, extra = []) =>
    spawnSync(join(app, 'node_modules', '.bin', 'tsc'), ['-p', project, ...extra], { cwd: app, stdio: 'ignore' });
  const dist = join(app, '.cache', `test-dist-${process.pid}`);
  tsc(join(app, 'tsconfig.build.json'), [
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
  return {
    entry(file) {
      const path = join(dist, file);
      if (!existsSync(path)) throw new Error(`global-setup: compiling ${app} into ${dist} failed (no ${file})`);
      return path;
    },
    cleanup: () => rmSync(dist, { recursive: true, force: true }),
  };
}
