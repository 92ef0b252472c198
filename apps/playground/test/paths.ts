import { join } from 'node:path';

/** apps/playground */
export const APP = join(import.meta.dirname, '..');
/** apps/charlm: the e2e test runs its compiled CLI */
export const CHARLM = join(APP, '..', 'charlm');
/** the repository root */
export const ROOT = join(APP, '..', '..');
/** screenshots and checkpoints of the e2e run (runs/ is gitignored) */
export const RUNS = join(ROOT, 'runs', 'playground');

declare module 'vitest' {
  export interface ProvidedContext {
    /** charlm's compiled CLI (global-setup.ts) */
    charlmCli: string;
  }
}
