/**
 * TINYFORMER_CPU_THREADS if set to 1 or 2, else 2 where the host has at least 2 cores, else 1
 *
 * @returns 1 or 2.
 */
export function defaultThreads(): 1 | 2 {
  const proc = (
    globalThis as { process?: { env?: Record<string, string | undefined>; getBuiltinModule?: (id: string) => unknown } }
  ).process;
  const env = proc?.env?.TINYFORMER_CPU_THREADS;
  if (env === '1' || env === '2') return Number(env) as 1 | 2;
  const os = proc?.getBuiltinModule?.('node:os') as { availableParallelism?: () => number } | undefined;
  const cores =
    os?.availableParallelism?.() ??
    (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ??
    1;
  return cores >= 2 ? 2 : 1;
}
