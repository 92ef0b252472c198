import { packageConfig } from '@tinyformer/vitest-config';

// global-setup builds the CLI and the example plugin that the child-process tests (--plugin) run
export default packageConfig(import.meta.dirname, { globalSetup: ['test/global-setup.ts'] });
