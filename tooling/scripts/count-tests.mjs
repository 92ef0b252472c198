#!/usr/bin/env node
// Sums vitest's JSON reports (every package writes test-results.json) into the one line CI reads:
// "N passed, N failed[, N skipped]". Exits 1 when a package that has tests left no report.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let passed = 0;
let failed = 0;
let skipped = 0;
let missing = 0;
for (const group of ['packages', 'apps', 'examples']) {
  const base = join(root, group);
  if (!existsSync(base)) continue;
  for (const name of readdirSync(base)) {
    const dir = join(base, name);
    if (!existsSync(join(dir, 'vitest.config.ts'))) continue;
    const file = join(dir, 'test-results.json');
    if (!existsSync(file)) {
      console.error(`count-tests: ${group}/${name} has no test-results.json (its tests did not run)`);
      missing++;
      continue;
    }
    const r = JSON.parse(readFileSync(file, 'utf8'));
    passed += r.numPassedTests ?? 0;
    failed += r.numFailedTests ?? 0;
    skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  }
}
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
process.exit(missing > 0 || failed > 0 ? 1 : 0);
