#!/usr/bin/env node
// Sums vitest's JSON reports (every package writes test-results.json) into the one line CI reads:
// "N passed, N failed[, N skipped]". Exits 1 when a package that has tests left no report.
// CI counts each Node version's pass on its own line: --label <text> prefixes the line ("node v24.1.0: N passed, ..."),
// --since <ms since epoch> rejects a report whose run started before then (left from an earlier pass, or restored
// from turbo's cache instead of run).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const label = option('--label');
const since = option('--since') === undefined ? undefined : Number(option('--since'));
let passed = 0;
let failed = 0;
let skipped = 0;
let missing = 0;
let stale = 0;
for (const group of ['packages', 'apps', 'examples', 'tooling']) {
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
    if (since !== undefined && !(r.startTime >= since)) {
      console.error(`count-tests: ${group}/${name}'s test-results.json is from before this pass (cached or stale)`);
      stale++;
      continue;
    }
    passed += r.numPassedTests ?? 0;
    failed += r.numFailedTests ?? 0;
    skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  }
}
console.log(
  `${label ? `${label}: ` : ''}${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`,
);
process.exit(missing > 0 || stale > 0 || failed > 0 ? 1 : 0);
