import { packageConfig } from '@tinyformer/vitest-config';

export default packageConfig(import.meta.dirname);
