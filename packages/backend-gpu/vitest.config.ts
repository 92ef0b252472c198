import { packageConfig } from '@tinyformer/vitest-config';

// one file at a time: each file owns a Dawn device, whose thread keeps a core busy until it is destroyed
export default packageConfig(import.meta.dirname, {
  fileParallelism: false,
  testTimeout: 120_000,
  hookTimeout: 120_000,
});
