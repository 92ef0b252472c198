/**
 * Shared set-up for the GPU test files: pins lavapipe when nothing else is pinned, creates one backend per file
 * (software adapters allowed) and reports a missing adapter: a failure under CI=true, a visible skip elsewhere.
 */
import { existsSync } from 'node:fs';
import { createGpuBackend, type GpuBackend } from '../src/index.js';

const LAVAPIPE_ICD = '/usr/share/vulkan/icd.d/lvp_icd.json';
// the Vulkan loader reads this when Dawn creates its instance, so it must be set before the first adapter request
if (!process.env.VK_ICD_FILENAMES && existsSync(LAVAPIPE_ICD)) process.env.VK_ICD_FILENAMES = LAVAPIPE_ICD;

export const inCI = process.env.CI === 'true';

export interface GpuSetup {
  backend: GpuBackend | null;
  /** why there is no backend */
  error: string | null;
}

export async function setUpGpu(file: string): Promise<GpuSetup> {
  try {
    return { backend: await createGpuBackend({ allowSoftware: true }), error: null };
  } catch (e) {
    const error = (e as Error).message;
    if (!inCI) {
      console.warn(
        `\n[backend-gpu] ${file}: SKIPPING GPU tests, no WebGPU adapter: ${error}\n` +
          '  install one with tooling/scripts/install-lavapipe.sh (CI=true turns this into a failure)\n',
      );
    }
    return { backend: null, error };
  }
}
