import { packageConfig } from '@tinyformer/vitest-config';

export default packageConfig(import.meta.dirname, {
  // one file at a time: each file owns a Dawn device, whose thread keeps a core busy until it is destroyed
  fileParallelism: false,
  testTimeout: 120_000,
  hookTimeout: 120_000,
  // lets residency.test.ts check the garbage-collection backstop for storages dropped without dispose()
  execArgv: ['--expose-gc'],
});
