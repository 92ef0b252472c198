import { packageConfig } from '@tinyformer/vitest-config';

// global-setup builds the CLI that the child-process tests (signals, kills, exit codes) run
export default packageConfig(import.meta.dirname, { globalSetup: ['test/global-setup.ts'] });
