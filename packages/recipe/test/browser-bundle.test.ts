// The package is for browsers too (the playground trains with it in a Worker): nothing below src/index.ts may import
// a node: module.
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { expect, it } from 'vitest';

const PKG = resolve(import.meta.dirname, '..');

it('bundles for the browser with no node: import', async () => {
  const result = await build({
    entryPoints: [join(PKG, 'src', 'index.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
    // workspace dependencies from their sources, as the tests resolve them: no build needed first
    conditions: ['source'],
  });
  const code = result.outputFiles[0]!.text;
  const kept = Object.values(result.metafile.outputs).flatMap((o) => o.imports.map((i) => i.path));
  expect(kept).toEqual([]);
  const nodeImports = Object.entries(result.metafile.inputs).flatMap(([file, input]) =>
    input.imports.filter((i) => i.path.startsWith('node:') || i.original?.startsWith('node:')).map(() => file),
  );
  expect(nodeImports).toEqual([]);
  expect(code).not.toMatch(/\bfrom\s*["']node:|\bimport\s*\(\s*["']node:|\bimport\s*["']node:/);
});
