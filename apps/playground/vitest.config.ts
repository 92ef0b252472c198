import { packageConfig } from '@tinyformer/vitest-config';

// global-setup builds the app (vite build into dist/) and charlm's CLI; the e2e test serves dist/ to Chromium
export default packageConfig(import.meta.dirname, {
  globalSetup: ['test/global-setup.ts'],
  testTimeout: 180_000,
  hookTimeout: 180_000,
});
