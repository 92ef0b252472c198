import { describe, expect, it } from 'vitest';
import { decodeSafetensors } from './safetensors.js';

/** A safetensors file holding one tensor of the given dtype and raw little-endian bytes. */
function file(dtype: string, shape: number[], raw: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(
    JSON.stringify({ t: { dtype, shape, data_offsets: [0, raw.length] }, __metadata__: { format: 'pt' } }),
  );
  const out = new Uint8Array(8 + json.length + raw.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(raw, 8 + json.length);
  return out;
}

const u16 = (xs: number[]) => new Uint8Array(new Uint16Array(xs).buffer);

describe('decodeSafetensors: half precision and double, converted to F32', () => {
  it('F16: normal, subnormal, zero, negative, infinities and NaN', () => {
    // 1.0, -2.5, 65504 (max), 2^-24 (smallest subnormal), 0, -0, +inf, -inf, NaN, 0.333251953125
    const bits = [0x3c00, 0xc100, 0x7bff, 0x0001, 0x0000, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x3555];
    const { tensors } = decodeSafetensors(file('F16', [2, 5], u16(bits)), 'h.safetensors', { convertToF32: true });
    const t = tensors.get('t')!;
    expect(t.shape).toEqual([2, 5]);
    expect(Array.from(t.data)).toEqual([
      1,
      -2.5,
      65504,
      2 ** -24,
      0,
      -0,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.NaN,
      0.333251953125,
    ]);
  });

  it('BF16 is the top 16 bits of a float32', () => {
    const vals = [1, -3.140625, 1e-3, 65536];
    const f32bits = new Uint32Array(new Float32Array(vals).buffer);
    const bits = Array.from(f32bits, (b) => b >>> 16);
    const { tensors } = decodeSafetensors(file('BF16', [4], u16(bits)), 'b.safetensors', { convertToF32: true });
    const expected = Array.from(new Float32Array(new Uint32Array(bits.map((b) => b << 16)).buffer));
    expect(Array.from(tensors.get('t')!.data)).toEqual(expected);
    expect(tensors.get('t')!.data[0]).toBe(1);
  });

  it('F64 is rounded to F32', () => {
    const raw = new Uint8Array(new Float64Array([0.1, -1e10]).buffer);
    const { tensors } = decodeSafetensors(file('F64', [2], raw), 'd.safetensors', { convertToF32: true });
    expect(Array.from(tensors.get('t')!.data)).toEqual([Math.fround(0.1), Math.fround(-1e10)]);
  });

  it('without the option only F32 is read, and the error says so; a wrong byte count names both sizes', () => {
    expect(() => decodeSafetensors(file('F16', [1], u16([0x3c00])), 'h.safetensors')).toThrow(
      'h.safetensors: tensor "t" has dtype "F16"; only F32 is supported',
    );
    expect(() =>
      decodeSafetensors(file('I8', [1], new Uint8Array(1)), 'i.safetensors', { convertToF32: true }),
    ).toThrow('tensor "t" has dtype "I8"; only F32, F16, BF16, F64 are supported');
    expect(() => decodeSafetensors(file('F16', [3], u16([1, 2])), 'h.safetensors', { convertToF32: true })).toThrow(
      'tensor "t" shape [3] needs 6 bytes, offsets give 4',
    );
  });
});
