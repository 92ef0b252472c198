#!/usr/bin/env node
// Packs every public package under packages/ (its prepack builds it) and checks the tarball a user would install:
// every exports and imports target (types, source, import, default, browser) is in it, every source map's sources are in it, and no
// workspace: range is left in its manifest. Prints one line per package; exits 1 on any problem.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const work = mkdtempSync(join(tmpdir(), 'tinyformer-pack-'));
let problems = 0;

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}
function targets(value) {
  if (typeof value === 'string') return [value];
  if (value && typeof value === 'object') return Object.values(value).flatMap(targets);
  return [];
}

try {
  for (const name of readdirSync(join(root, 'packages')).sort()) {
    const dir = join(root, 'packages', name);
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest) || JSON.parse(readFileSync(manifest, 'utf8')).private) continue;
    const dest = join(work, name);
    execFileSync('pnpm', ['pack', '--pack-destination', dest], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
    const tgz = readdirSync(dest).find((f) => f.endsWith('.tgz'));
    execFileSync('tar', ['xzf', join(dest, tgz), '-C', dest]);
    const pkgDir = join(dest, 'package');
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
    const files = walk(pkgDir);
    const errors = [];
    for (const target of targets(pkg.exports)) {
      if (!existsSync(join(pkgDir, target))) errors.push(`exports target ${target} is not in the tarball`);
    }
    for (const target of targets(pkg.imports)) {
      if (!existsSync(join(pkgDir, target))) errors.push(`imports target ${target} is not in the tarball`);
    }
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
      for (const [dep, range] of Object.entries(pkg[field] ?? {})) {
        if (String(range).startsWith('workspace:')) errors.push(`${field}.${dep} is still ${range}`);
      }
    }
    let maps = 0;
    for (const file of files.filter((f) => f.endsWith('.map'))) {
      maps++;
      const map = JSON.parse(readFileSync(file, 'utf8'));
      for (const src of map.sources ?? []) {
        const resolved = join(dirname(file), map.sourceRoot ?? '', src);
        if (!existsSync(resolved)) errors.push(`${relative(pkgDir, file)} points at ${src}, not in the tarball`);
      }
    }
    if (!files.some((f) => f.endsWith('.js'))) errors.push('no JavaScript in the tarball (was it built?)');
    console.log(
      `pack: ${pkg.name}@${pkg.version} ${tgz}: ${files.length} files, ${maps} source maps, ${errors.length === 0 ? 'ok' : `${errors.length} problems`}`,
    );
    for (const e of errors.slice(0, 20)) console.error(`  ${e}`);
    problems += errors.length;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(problems > 0 ? 1 : 0);
