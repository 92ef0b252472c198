import { join } from 'node:path';

/** apps/charlm */
export const CHARLM = join(import.meta.dirname, '..');

declare module 'vitest' {
  export interface ProvidedContext {
    /** the compiled CLI (global-setup.ts), for child-process tests */
    charlmCli: string;
  }
}
