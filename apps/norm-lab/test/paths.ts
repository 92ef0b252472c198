import { join } from 'node:path';

/** apps/norm-lab */
export const NORM_LAB = join(import.meta.dirname, '..');

declare module 'vitest' {
  export interface ProvidedContext {
    /** the compiled CLI (global-setup.ts), for child-process tests */
    normLabCli: string;
  }
}
