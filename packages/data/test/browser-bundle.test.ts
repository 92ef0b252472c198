// The package root must run in a browser: nothing below src/index.ts may import a node: module or name Buffer in
// its public types. Reading from disk lives under src/node (the `@tinyformer/data/node` entry), which this skips.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PKG = resolve(import.meta.dirname, '..');

describe('the package root in a browser', () => {
  let code: string;
  let metafile: Metafile;
  beforeAll(async () => {
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
    code = result.outputFiles[0]!.text;
    metafile = result.metafile;
  });

  it('bundles for the browser with every import resolved inside the bundle', () => {
    expect(code.length).toBeGreaterThan(0);
    const kept = Object.values(metafile.outputs).flatMap((o) => o.imports.map((i) => i.path));
    expect(kept).toEqual([]);
  });

  it('imports no node: module, statically or dynamically, in any bundled file', () => {
    const nodeImports = Object.entries(metafile.inputs).flatMap(([file, input]) =>
      input.imports.filter((i) => i.path.startsWith('node:') || i.original?.startsWith('node:')).map(() => file),
    );
    expect(nodeImports).toEqual([]);
    expect(metafile.inputs).not.toHaveProperty([join('src', 'node', 'index.ts')]);
    // the tensor package probes for Node built-ins through process.getBuiltinModule (absent in a browser) and
    // ships its worker's source as a string; neither is an import, so only import syntax is refused here
    expect(code).not.toMatch(/\bfrom\s*["']node:|\bimport\s*\(\s*["']node:|\bimport\s*["']node:/);
  });
});

describe("the package root's declarations", () => {
  let outDir: string;
  beforeAll(() => {
    outDir = mkdtempSync(join(tmpdir(), 'data-dts-'));
    const tsc = join(PKG, 'node_modules', '.bin', 'tsc');
    const args = ['-p', join(PKG, 'tsconfig.build.json'), '--outDir', outDir, '--emitDeclarationOnly'];
    const run = spawnSync(tsc, [
      ...args,
      '--declarationMap',
      'false',
      '--tsBuildInfoFile',
      join(outDir, 'tsbuildinfo'),
    ]);
    expect(run.status, String(run.stdout) + String(run.stderr)).toBe(0);
  });
  afterAll(() => {
    rmSync(outDir, { recursive: true, force: true });
  });

  /** The .d.ts files that index.d.ts reaches through relative imports and re-exports. */
  function reachable(): Map<string, string> {
    const seen = new Map<string, string>();
    const queue = [join(outDir, 'index.d.ts')];
    for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
      if (seen.has(file)) continue;
      const text = readFileSync(file, 'utf8');
      seen.set(file, text);
      for (const m of text.matchAll(/\bfrom\s*'(\.{1,2}\/[^']+)\.js'/g))
        queue.push(join(dirname(file), `${m[1]}.d.ts`));
    }
    return seen;
  }

  it('never mention Buffer nor reference Node types', () => {
    const files = reachable();
    expect(files.size).toBeGreaterThan(5);
    for (const [file, text] of files) {
      expect(text, file).not.toMatch(/\bBuffer\b/);
      expect(text, file).not.toMatch(/["']node:|reference types="node"|\bNodeJS\./);
    }
  });
});
