#!/usr/bin/env node
// `pnpm charlm <args>` / `pnpm norm-lab <args>` from the repo root: `node run-app.mjs <app> <args>` builds apps/<app>
// and the packages it uses (turbo; cached after the first time, output shown only on failure), then runs its CLI.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const [app, ...args] = process.argv.slice(2);
const pkgFile = join(root, 'apps', app ?? '', 'package.json');
if (!app || !existsSync(pkgFile)) {
  process.stderr.write(`run-app: usage: node tooling/scripts/run-app.mjs <app in apps/> [args]\n`);
  process.exit(2);
}
const { name } = JSON.parse(readFileSync(pkgFile, 'utf8'));
const build = spawnSync('pnpm', ['exec', 'turbo', 'run', 'build', `--filter=${name}...`, '--output-logs=errors-only'], {
  cwd: root,
  encoding: 'utf8',
});
if (build.status !== 0) {
  process.stderr.write(`${build.stdout ?? ''}${build.stderr ?? ''}\n${app}: the build failed (see above)\n`);
  process.exit(build.status ?? 1);
}
const { run } = await import(join(root, 'apps', app, 'dist/cli.js'));
await run(args, { watchSignals: true });
