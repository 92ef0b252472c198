import type { UserConfig } from 'vitest/config';

/** The shared vitest config for a package directory; `test` overrides merge over the defaults. */
export function packageConfig(dir: string, test?: UserConfig['test']): UserConfig;
