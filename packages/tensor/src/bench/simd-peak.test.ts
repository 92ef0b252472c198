import { describe, expect, it } from 'vitest';
import { wasmApi, wasmSimdSupported } from '../cpu/wasm/wasm-module.js';
import { measurePeak, peakModuleBytes } from './simd-peak.js';

describe('the SIMD peak probe', () => {
  it.runIf(wasmSimdSupported())('is a valid module that computes what it claims (the mul + add form)', () => {
    const bytes = peakModuleBytes(false);
    const api = wasmApi!;
    expect(api.validate(bytes)).toBe(true);
    const { peak } = new api.Instance(new api.Module(bytes), {}).exports as { peak: (n: number) => number };
    // the same recurrence in float32, in JS: acc = acc * 0.999 + 0.001 for each of the 12 accumulators
    let expected = 0;
    for (let i = 0; i < 12; i++) {
      let acc = Math.fround(1 + i / 100);
      for (let k = 0; k < 50; k++) acc = Math.fround(Math.fround(acc * Math.fround(0.999)) + Math.fround(0.001));
      expected = Math.fround(expected + acc);
    }
    expect(peak(50)).toBe(expected);
    expect(measurePeak(false, 1, 10_000)).toBeGreaterThan(0);
  });

  it('the relaxed form differs only in its update opcode', () => {
    expect(peakModuleBytes(true).length).toBeLessThan(peakModuleBytes(false).length);
  });
});
