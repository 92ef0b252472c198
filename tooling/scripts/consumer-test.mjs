#!/usr/bin/env node
// What a user of the published packages gets, checked outside the workspace (no workspace links, no pnpm): every
// public package packed, installed with npm into a fresh project, the examples type-checked there under strict
// consumer settings, node-train compiled and run, a browser bundle of the model and data roots, and an install next
// to an existing vitest 3. Prints one line per check; exits 1 at the first failure.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const work = mkdtempSync(join(tmpdir(), 'tinyformer-consumer-'));
const keep = process.argv.includes('--keep');
const started = Date.now();
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
// the consumer uses the same compiler and bundler versions as the workspace
const TYPESCRIPT = rootPkg.devDependencies.typescript;
const ESBUILD = JSON.parse(readFileSync(join(root, 'packages/model/package.json'), 'utf8')).devDependencies.esbuild;
const EXAMPLES = ['node-train', 'tensor-only', 'custom-norm'];

class CheckError extends Error {}

function run(cmd, args, cwd) {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  } catch (e) {
    const out = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
    throw new CheckError(`\`${cmd} ${args.join(' ')}\` failed (exit ${e.status ?? e.signal}) in ${cwd}:\n${out}`);
  }
}

async function check(name, fn) {
  const t0 = Date.now();
  try {
    const detail = await fn();
    console.log(`consumer: ${name}: ok${detail ? ` (${detail})` : ''} [${((Date.now() - t0) / 1000).toFixed(1)}s]`);
  } catch (e) {
    console.log(`consumer: ${name}: FAILED [${((Date.now() - t0) / 1000).toFixed(1)}s]`);
    console.error(e instanceof CheckError ? e.message : e);
    finish(1);
  }
}

function finish(code) {
  if (keep) console.log(`consumer: scratch projects kept in ${work}`);
  else rmSync(work, { recursive: true, force: true });
  console.log(
    `consumer: ${code === 0 ? 'all checks passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)}s`,
  );
  process.exit(code);
}

/** A fresh npm project, ESM like the packages. */
function scratch(name) {
  const dir = join(work, name);
  mkdirSync(dir);
  run('npm', ['init', '-y'], dir);
  run('npm', ['pkg', 'set', 'type=module'], dir);
  return dir;
}

// --ignore-scripts: gpu.js's optional headless-gl would compile natively and is never used (see the backend-gpu
// README); esbuild's and webgpu's scripts only check a binary / act on macOS
const npmInstall = (dir, specs) =>
  run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', ...specs], dir);

const tarballs = [];
let app = '';

await check('pack every public package', () => {
  const dest = join(work, 'tarballs');
  for (const name of readdirSync(join(root, 'packages')).sort()) {
    const manifest = join(root, 'packages', name, 'package.json');
    if (!existsSync(manifest) || JSON.parse(readFileSync(manifest, 'utf8')).private) continue;
    run('pnpm', ['pack', '--pack-destination', dest], join(root, 'packages', name));
  }
  for (const f of readdirSync(dest).sort()) if (f.endsWith('.tgz')) tarballs.push(join(dest, f));
  if (tarballs.length === 0) throw new CheckError('no tarballs were written');
  return `${tarballs.length} tarballs`;
});

await check('npm install the tarballs into a fresh project', () => {
  app = scratch('app');
  npmInstall(app, [...tarballs, `typescript@${TYPESCRIPT}`, '@types/node@20', `esbuild@${ESBUILD}`]);
  const linked = readdirSync(join(app, 'node_modules/@tinyformer'));
  return `@tinyformer/{${linked.join(',')}}, typescript ${TYPESCRIPT}, esbuild ${ESBUILD}`;
});

await check('tsc --noEmit on the examples (strict, noUncheckedIndexedAccess, exactOptionalPropertyTypes)', () => {
  for (const ex of EXAMPLES) {
    // the sources a user copies; tests stay behind (they need the workspace's vitest setup)
    cpSync(join(root, 'examples', ex, 'src'), join(app, 'src', ex), {
      recursive: true,
      filter: (f) => !f.endsWith('.test.ts'),
    });
  }
  const compilerOptions = {
    target: 'ES2022',
    lib: ['ES2023', 'DOM'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    types: ['node'],
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    // the packages' own .d.ts are checked under these settings too
    skipLibCheck: false,
    rootDir: 'src',
    outDir: 'out',
  };
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['src'] }, null, 2));
  run(join(app, 'node_modules/.bin/tsc'), ['-p', '.', '--noEmit'], app);
  return EXAMPLES.join(', ');
});

await check('node-train compiled with tsc and run with node: the loss falls within 30 steps', () => {
  run(join(app, 'node_modules/.bin/tsc'), ['-p', '.'], app);
  const out = run('node', ['out/node-train/main.js'], app);
  const summaries = out.split('\n').filter((l) => /^[a-z-]+: loss /.test(l));
  if (summaries.length !== 2 || !summaries.every((l) => l.includes('(falls)') && l.endsWith('after reload 0'))) {
    throw new CheckError(`node-train did not report two falling losses and exact reloads:\n${out}`);
  }
  return summaries.map((l) => l.replace(/ \(falls\).*/, '')).join('; ');
});

await check('tensor-only compiled and run', () => {
  const out = run('node', ['out/tensor-only/main.js'], app);
  const gemm = /gemm: '([^']+)'/.exec(out)?.[1];
  if (!gemm || !out.includes('[ 19, 22 ], [ 43, 50 ]')) throw new CheckError(`unexpected tensor-only output:\n${out}`);
  return `gemm ${gemm}`;
});

await check('esbuild --platform=browser --bundle of the model + data roots (no externals)', () => {
  // node-train's train.ts imports the roots of @tinyformer/model, /data and /tensor; any node: import fails here
  const outfile = join(work, 'browser-bundle.js');
  run(
    join(app, 'node_modules/.bin/esbuild'),
    ['src/node-train/train.ts', '--bundle', '--platform=browser', '--format=esm', '--minify', `--outfile=${outfile}`],
    app,
  );
  return `${Math.round(readFileSync(outfile).length / 1024)} KB`;
});

await check('esbuild --platform=browser --bundle of the backend-gpu root: no node: import, no Dawn', () => {
  // the package's imports field maps #webgpu-env to its browser file under the "browser" condition
  writeFileSync(join(app, 'gpu-entry.js'), "export * from '@tinyformer/backend-gpu';\n");
  const outfile = join(work, 'gpu-browser-bundle.js');
  const metafile = join(work, 'gpu-browser-meta.json');
  run(
    join(app, 'node_modules/.bin/esbuild'),
    [
      'gpu-entry.js',
      '--bundle',
      '--platform=browser',
      '--format=esm',
      '--minify',
      `--outfile=${outfile}`,
      `--metafile=${metafile}`,
    ],
    app,
  );
  const inputs = JSON.parse(readFileSync(metafile, 'utf8')).inputs;
  const paths = Object.keys(inputs);
  const bad = [
    ...paths.filter((p) => /node_modules\/webgpu\/|webgpu-env\.node\.js$/.test(p)),
    ...Object.values(inputs).flatMap((i) => i.imports.map((m) => m.path).filter((m) => m.startsWith('node:'))),
  ];
  if (bad.length > 0) throw new CheckError(`the browser bundle pulled in Node-only code: ${bad.join(', ')}`);
  if (!paths.some((p) => p.endsWith('gpu.js/dist/gpu-browser.js'))) {
    throw new CheckError(`the browser bundle does not use gpu.js's browser build:\n${paths.join('\n')}`);
  }
  return `${Math.round(readFileSync(outfile).length / 1024)} KB`;
});

await check('backend-gpu in Node: selectBackend loads Dawn and gpu.js from the installed packages', () => {
  // reason 'no webgpu package: ...' would mean Dawn did not load; 'no WebGPU adapter' or 'software adapter' that it did
  const script = `import { selectBackend } from '@tinyformer/backend-gpu';
const s = await selectBackend({ prefer: 'auto' });
console.log(s.fallback?.kind ?? 'gpu', '|', s.reason);
await s.dispose();`;
  writeFileSync(join(app, 'gpu-select.mjs'), script);
  const out = run('node', ['gpu-select.mjs'], app).trim().split('\n').at(-1) ?? '';
  if (!/^(gpu|no-adapter|software-adapter) \| /.test(out))
    throw new CheckError(`unexpected selectBackend result: ${out}`);
  return out.replace(/^[a-z-]+ \| /, '');
});

await check('npm install next to an existing vitest@3.2.4 (no peer conflict)', () => {
  const dir = scratch('with-vitest3');
  npmInstall(dir, ['vitest@3.2.4']);
  // no --legacy-peer-deps: a conflict with the packages' optional vitest peer fails this install
  npmInstall(dir, tarballs);
  const version = JSON.parse(readFileSync(join(dir, 'node_modules/vitest/package.json'), 'utf8')).version;
  if (version !== '3.2.4') throw new CheckError(`vitest became ${version}; the user's 3.2.4 must stay`);
  run('npm', ['ls', '--all'], dir);
  return `vitest ${version} kept, npm ls clean`;
});

finish(0);
