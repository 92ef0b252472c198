import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';

// The package root must load in a browser: no node: module reached, no Buffer in its types. The file-system
// helpers live behind @tinyformer/model/node.
const pkg = resolve(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'tinyformer-browser-safe-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the package root is browser-safe', () => {
  it('bundles for the browser with nothing external and no node: import', async () => {
    const result = await build({
      entryPoints: [join(pkg, 'src/index.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      // workspace packages resolve to their sources, as in the tests: no build needed
      conditions: ['source'],
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    const reached = Object.keys(result.metafile.inputs);
    expect(reached.some((f) => f.endsWith('src/safetensors.ts'))).toBe(true);
    expect(reached.filter((f) => /atomic-file|checkpoint-file|src\/node\.ts/.test(f))).toEqual([]);
    const imports = Object.values(result.metafile.inputs).flatMap((i) => i.imports);
    expect(imports.filter((i) => i.external || i.path.startsWith('node:'))).toEqual([]);
    const code = result.outputFiles[0]!.text;
    expect(code).not.toMatch(/\bfrom\s*["']node:/);
    expect(code).not.toMatch(/\bimport\s*\(\s*["']node:/);
    expect(code).not.toMatch(/__require\s*\(/);
    // What stays: tensor's CPU backend asks process.getBuiltinModule (absent in browsers) for node:os and
    // node:worker_threads at run time, and its worker's source text names node:worker_threads. Neither is an import.
    expect(code).toMatch(/getBuiltinModule\?\.\(\s*["']node:worker_threads["']\s*\)/);
  });

  it('no emitted .d.ts reachable from the root mentions Buffer or a node: module', () => {
    const tsc = join(dirname(createRequire(join(pkg, 'package.json')).resolve('typescript/package.json')), 'bin/tsc');
    const out = join(tmp, 'dts');
    execFileSync(
      process.execPath,
      [
        tsc,
        ...['-p', join(pkg, 'tsconfig.build.json'), '--outDir', out, '--declaration', '--emitDeclarationOnly'],
        ...['--declarationMap', 'false', '--tsBuildInfoFile', join(tmp, 'tsbuildinfo.json')],
      ],
      { stdio: 'pipe' },
    );
    const seen = new Set<string>();
    const queue = ['index.d.ts'];
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const text = readFileSync(join(out, file), 'utf8');
      expect(text, file).not.toMatch(/\bBuffer\b/);
      expect(text, file).not.toMatch(/["']node:|\bNodeJS\b/);
      for (const m of text.matchAll(/(?:from\s*|import\(\s*)["']\.\/([^"']+)\.js["']/g)) queue.push(`${m[1]}.d.ts`);
    }
    expect(seen).toContain('safetensors.d.ts');
    expect(seen).toContain('checkpoint.d.ts');
    expect(seen).not.toContain('node.d.ts');
    // the Node entry does reach the file system, as it should
    expect(readFileSync(join(out, 'atomic-file.d.ts'), 'utf8')).toMatch(/writeFileAtomic/);
  });
});
