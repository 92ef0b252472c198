// Shared vitest config. Every package's vitest.config.ts calls packageConfig(import.meta.dirname).
// Workspace packages resolve to their TypeScript sources, so tests never need a prior build (trpc's alias trick).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

const root = resolve(import.meta.dirname, '../..');

function workspaceAliases() {
  const aliases = [];
  for (const dir of ['packages', 'apps', 'examples']) {
    const base = join(root, dir);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base)) {
      const pkgFile = join(base, name, 'package.json');
      if (!existsSync(pkgFile)) continue;
      const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
      const exportsMap = pkg.exports ?? {};
      for (const [sub, target] of Object.entries(exportsMap)) {
        const src = typeof target === 'object' ? target.source : undefined;
        if (!src) continue;
        const spec = sub === '.' ? pkg.name : `${pkg.name}/${sub.replace(/^\.\//, '')}`;
        aliases.push({ find: new RegExp(`^${spec.replace(/[/.@-]/g, '\\$&')}$`), replacement: join(base, name, src) });
      }
    }
  }
  return aliases;
}

/**
 * The same for a package's own subpath imports (`#name` in its package.json `imports`): an import from a workspace
 * source file resolves to the entry's "source" target, so a package that maps `#name` by condition (backend-gpu's
 * `#webgpu-env`: browser or Node) is tested from its sources too. Entries without "source" resolve as Vite would.
 * @returns {import('vite').Plugin}
 */
function sourceSubpathImports() {
  /** @type {Map<string, { dir: string, imports: Record<string, unknown> } | null>} */
  const owners = new Map();
  /** @param {string} file @returns {{ dir: string, imports: Record<string, unknown> } | null} */
  function owner(file) {
    const dir = dirname(file);
    if (owners.has(dir)) return owners.get(dir) ?? null;
    let found = null;
    if (existsSync(join(dir, 'package.json'))) {
      found = { dir, imports: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).imports ?? {} };
    } else if (dir !== root && dir.startsWith(root)) {
      found = owner(dir);
    }
    owners.set(dir, found);
    return found;
  }
  return {
    name: 'tinyformer:source-subpath-imports',
    enforce: 'pre',
    resolveId(id, importer) {
      if (!id.startsWith('#') || !importer || importer.includes('/node_modules/')) return null;
      const pkg = owner(importer.split('?')[0]);
      const target = pkg?.imports[id];
      const src = target && typeof target === 'object' ? /** @type {{ source?: string }} */ (target).source : undefined;
      return src ? join(pkg.dir, src) : null;
    },
  };
}

/** @param {string} dir the package directory @param {import('vitest/config').UserConfig['test']} [test] */
export function packageConfig(dir, test = {}) {
  // CI runs the suites under more than one Node version. It sets TINYFORMER_TEST_NODE to the version a pass expects
  // (turbo.json lists it in the test task's env, so a pass under another Node never reuses cached results) and a
  // pass that is not really running under that version fails here instead of being counted.
  const expectedNode = process.env.TINYFORMER_TEST_NODE;
  if (expectedNode && expectedNode !== process.version) {
    throw new Error(
      `vitest-config: TINYFORMER_TEST_NODE is ${expectedNode} but vitest runs under Node ${process.version}`,
    );
  }
  return defineConfig({
    resolve: { alias: workspaceAliases() },
    plugins: [sourceSubpathImports()],
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      environment: 'node',
      pool: 'forks',
      testTimeout: 60_000,
      // a beforeAll that loads the Brown Corpus or trains a small model takes seconds; on a busy 2-core CI machine, more
      hookTimeout: 120_000,
      reporters: ['default', ['json', { outputFile: join(dir, 'test-results.json') }]],
      ...test,
    },
  });
}
