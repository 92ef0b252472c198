import { CpuBackend } from '@tinyformer/tensor';
import { expect, it, vi } from 'vitest';
import { selectBackend } from '../src/index.js';

// the native Dawn binary failing to load looks like this to the importer
vi.mock('webgpu', () => {
  throw new Error('dawn.node: cannot open shared object file');
});

it('auto falls back to the CPU when the webgpu package cannot load, and gpu throws', async () => {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  const s = await selectBackend({ prefer: 'auto' });
  expect(s.backend).toBeInstanceOf(CpuBackend);
  expect(s.reason).toMatch(/^cpu \(no webgpu package: /);
  expect(s.fallback?.kind).toBe('no-package');
  expect(warn).not.toHaveBeenCalled();
  warn.mockRestore();
  await expect(selectBackend({ prefer: 'gpu' })).rejects.toThrow(/no webgpu package/);
});
