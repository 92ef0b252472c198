/**
 * Rebuilds the stale dists of `deps` (directories relative to the repository root, in build order) and compiles the
 * app at `app` into a folder of this test run's own.
 */
export function buildForTests(app: string, deps: readonly string[]): { entry(file: string): string; cleanup(): void };
