// a type-only import: erased from the output, so the GPU package stays optional at run time
import type { BackendPreference } from '@tinyformer/backend-gpu';
import { type Backend, CpuBackend } from '@tinyformer/tensor';
import { CliError } from './errors.js';

export type { BackendPreference };

/** The values of --backend; a Record so the compiler says when BackendPreference gains one. */
const PREFERENCES: Record<BackendPreference, true> = { auto: true, cpu: true, gpu: true };
export const BACKEND_PREFERENCES = Object.keys(PREFERENCES) as BackendPreference[];

// loaded at run time through a variable specifier, so a missing GPU package only matters when it is asked for
const GPU_PACKAGE = '@tinyformer/backend-gpu';

export interface ChosenBackend {
  backend: Backend;
  /** one line saying what was chosen and why */
  reason: string;
  dispose(): Promise<void>;
}

/** What chooseBackend needs from @tinyformer/backend-gpu. */
export interface GpuModule {
  selectBackend(opts: {
    prefer: BackendPreference;
    onFallback?: 'warn' | 'throw';
  }): Promise<ChosenBackend & { fallback?: { kind: string; why: string } | null }>;
}

/**
 * Picks the backend once, at start-up. The GPU package is optional: when it is not installed, `auto` falls back to
 * the CPU and says so, and `gpu` fails with a clear message. `loadGpu` imports it; another app passes its own, since
 * a bare import resolves from the importing package's dependencies.
 */
export async function chooseBackend(
  prefer: BackendPreference,
  loadGpu: () => Promise<unknown> = () => import(GPU_PACKAGE),
): Promise<ChosenBackend> {
  return withThreads(await choose(prefer, loadGpu));
}

/** A CPU backend's reason says how many GEMM threads really run (its worker starts asynchronously). */
async function withThreads(chosen: ChosenBackend): Promise<ChosenBackend> {
  if (!(chosen.backend instanceof CpuBackend)) return chosen;
  await chosen.backend.whenThreadsReady();
  return { ...chosen, reason: `${chosen.reason}, ${chosen.backend.describeThreads()}` };
}

async function choose(prefer: BackendPreference, loadGpu: () => Promise<unknown>): Promise<ChosenBackend> {
  if (prefer === 'cpu') return cpu('cpu (requested with --backend cpu)');
  let gpu: GpuModule;
  try {
    gpu = (await loadGpu()) as GpuModule;
  } catch (e) {
    if (prefer === 'gpu') {
      throw new CliError(
        `--backend gpu: the @tinyformer/backend-gpu package could not be loaded (${(e as Error).message})`,
      );
    }
    return cpu('cpu (the @tinyformer/backend-gpu package is not installed)');
  }
  let selected: Awaited<ReturnType<GpuModule['selectBackend']>>;
  try {
    // no logger: the caller prints the returned reason once, as its `backend:` line
    selected = await gpu.selectBackend({ prefer, onFallback: prefer === 'gpu' ? 'throw' : 'warn' });
  } catch (e) {
    throw new CliError(`--backend ${prefer}: ${(e as Error).message}`);
  }
  const { backend, dispose, fallback } = selected;
  // the library says what it found; how to override it is this CLI's flag
  const reason =
    fallback?.kind === 'software-adapter' ? `cpu (${fallback.why}; pass --backend gpu to force)` : selected.reason;
  return { backend, reason, dispose };
}

function cpu(reason: string): ChosenBackend {
  return { backend: new CpuBackend(), reason, dispose: async () => {} };
}
