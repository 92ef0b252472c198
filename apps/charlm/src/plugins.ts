import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { normKind, normKinds } from '@tinyformer/norm';
import { CliError } from './errors.js';

/** A `--plugin` that was imported, and the norm kinds it added to the registry. */
export interface LoadedPlugin {
  /** as given on the command line */
  path: string;
  /** the module file that was imported */
  module: string;
  kinds: { kind: string; description: string }[];
}

/** The file a package folder's import resolves to: exports["."] (import, then default), else main. */
function packageEntry(dir: string, given: string): string {
  const pkgFile = join(dir, 'package.json');
  if (!existsSync(pkgFile)) {
    throw new CliError(`--plugin ${given}: the folder ${dir} has no package.json (give a module file or a package)`);
  }
  let pkg: { exports?: unknown; main?: unknown };
  try {
    pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
  } catch (e) {
    throw new CliError(`--plugin ${given}: cannot read ${pkgFile}: ${(e as Error).message}`);
  }
  const pick = (target: unknown): string | undefined => {
    if (typeof target === 'string') return target;
    if (target && typeof target === 'object') {
      const t = target as Record<string, unknown>;
      return pick(t.import) ?? pick(t.default);
    }
    return undefined;
  };
  let entry: string | undefined;
  const exp = pkg.exports;
  if (exp && typeof exp === 'object' && !Array.isArray(exp)) {
    const keys = Object.keys(exp);
    // an exports map with subpaths ('.', './x') or one of conditions for '.' alone
    entry = pick(keys.some((k) => k.startsWith('.')) ? (exp as Record<string, unknown>)['.'] : exp);
  } else {
    entry = pick(exp);
  }
  entry ??= typeof pkg.main === 'string' ? pkg.main : undefined;
  if (!entry) {
    throw new CliError(`--plugin ${given}: ${pkgFile} has no exports["."] (import or default) and no main`);
  }
  const file = resolve(dir, entry);
  if (!existsSync(file)) {
    throw new CliError(
      `--plugin ${given}: the package's entry ${file} does not exist (is the package built? ` +
        'for the example: pnpm --filter @tinyformer/example-custom-norm build)',
    );
  }
  return file;
}

/** The module file a `--plugin` path names, relative to `cwd`. */
export function resolvePlugin(given: string, cwd: string = process.cwd()): string {
  const abs = resolve(cwd, given);
  if (!existsSync(abs)) throw new CliError(`--plugin ${given}: no such file or folder (${abs})`);
  return statSync(abs).isDirectory() ? packageEntry(abs, given) : abs;
}

/**
 * Imports each plugin in order and returns the norm kinds each one registered: the kinds in the registry after
 * its import that were not there before. A plugin must add at least one, or it is an error (it probably registered
 * into another copy of @tinyformer/norm, or registers nothing on import).
 */
export async function loadPlugins(paths: readonly string[], cwd: string = process.cwd()): Promise<LoadedPlugin[]> {
  const loaded: LoadedPlugin[] = [];
  for (const given of paths) {
    const file = resolvePlugin(given, cwd);
    const before = new Set(normKinds());
    try {
      await import(pathToFileURL(file).href);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new CliError(`--plugin ${given}: importing ${file} failed: ${msg}`);
    }
    const added = normKinds().filter((k) => !before.has(k));
    if (added.length === 0) {
      const again = loaded.some((p) => p.module === file);
      throw new CliError(
        `--plugin ${given}: ${file} registered no new norm kind` +
          (again
            ? ' (it was already loaded by an earlier --plugin)'
            : ` (kinds now: ${normKinds().join(', ')}; a plugin must call registerNormKind from the same ` +
              '@tinyformer/norm that this program uses)'),
      );
    }
    loaded.push({
      path: given,
      module: file,
      kinds: added.map((kind) => ({ kind, description: normKind(kind)?.description ?? '' })),
    });
  }
  return loaded;
}
