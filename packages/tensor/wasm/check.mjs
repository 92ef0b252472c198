// Fails when the committed generated files differ from a fresh build (a generator or ops.json edited without
// rebuilding, or a generated file edited by hand). Rebuilds into a temp directory and never writes the package.
// Run: pnpm --filter @tinyformer/tensor check:wasm
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, PKG } from './build.mjs';

const tmp = mkdtempSync(join(tmpdir(), 'tinyformer-wasm-'));
const stale = [];
try {
  for (const p of await build(tmp)) {
    let committed = null;
    try {
      committed = readFileSync(join(PKG, p));
    } catch {}
    const fresh = readFileSync(join(tmp, p));
    if (committed === null) stale.push({ p, why: 'missing' });
    else if (!committed.equals(fresh)) stale.push({ p, why: firstDiff(committed.toString(), fresh.toString()) });
  }
} finally {
  if (stale.length === 0) rmSync(tmp, { recursive: true, force: true });
}

if (stale.length > 0) {
  console.error('check:wasm: the committed wasm kernels differ from a rebuild:');
  for (const { p, why } of stale) console.error(`  packages/tensor/${p}: ${why}`);
  console.error('see the change (the rebuilt files are kept):');
  for (const { p } of stale) console.error(`  diff -u packages/tensor/${p} ${join(tmp, p)}`);
  console.error(
    'fix: edit wasm/gen-kernels.mjs, wasm/gen-elementwise.mjs or wasm/ops.json (never the *.gen.ts files), run\n' +
      '  pnpm --filter @tinyformer/tensor build:wasm\n' +
      'and commit wasm/assembly/*.gen.ts and src/cpu/wasm/kernels.gen.ts with the change.',
  );
  process.exit(1);
}
console.log('check:wasm: wasm/assembly/*.gen.ts and src/cpu/wasm/kernels.gen.ts match a rebuild');

/** where two texts first differ, as "line N differs" */
function firstDiff(a, b) {
  const la = a.split('\n');
  const lb = b.split('\n');
  for (let i = 0; i < Math.max(la.length, lb.length); i++) {
    if (la[i] !== lb[i]) return `differs from line ${i + 1}`;
  }
  return 'differs';
}
