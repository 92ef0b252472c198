/**
 * Rebuilds the dists of `deps` (directories relative to the repository root, in build order) where a source is
 * newer than its output, with the tsc in the node_modules of `from` (a package directory two levels below the root).
 */
export function buildStale(from: string, deps: readonly string[]): void;

/**
 * Rebuilds the stale dists of `deps` (directories relative to the repository root, in build order) and compiles the
 * app at `app` into a folder of this test run's own.
 */
export function buildForTests(app: string, deps: readonly string[]): { entry(file: string): string; cleanup(): void };
