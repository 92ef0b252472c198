import { noGrad } from '@tinyformer/autograd';
import { mean, sqrt, type Tensor } from '@tinyformer/tensor';

/**
 * Collects the RMS of named activations per layer during a forward pass (for the norm lab and for
 * charlm's --probe flag). Off by default: when no probe is passed, the model does no extra work.
 * Values stay on the device until `read()`, so a GPU forward pass is not forced to sync mid-way.
 */
export class ActivationProbe {
  private pending: { layer: number; name: string; rms: Tensor }[] = [];

  /**
   * Records the RMS of `x` (kept on the device until read).
   *
   * @param layer - The layer's index.
   * @param name - What x is ('norm1_out', 'resid_mid', ...).
   * @param x - The activation.
   */
  record(layer: number, name: string, x: Tensor): void {
    this.pending.push({ layer, name, rms: noGrad(() => sqrt(mean(x.square()))).keep() });
  }

  /**
   * [{ layer, name, rms }], in recording order; clears the probe.
   *
   * @returns The recorded RMS values.
   */
  async read(): Promise<{ layer: number; name: string; rms: number }[]> {
    const out: { layer: number; name: string; rms: number }[] = [];
    for (const p of this.pending) {
      out.push({ layer: p.layer, name: p.name, rms: (await p.rms.data())[0]! });
      p.rms.dispose();
    }
    this.pending = [];
    return out;
  }
}
