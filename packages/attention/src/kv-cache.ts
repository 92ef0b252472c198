import { concat, formatShape, ShapeError, type Tensor, TensorError } from '@tinyformer/tensor';

/** Keys and values of one attention layer for the tokens decoded so far: (B, H, Tpast, hd) each. */
export class LayerKVCache {
  /** the cached keys (B, H, Tpast, hd), or null when empty */
  k: Tensor | null = null;
  /** the cached values (B, H, Tpast, hd), or null when empty */
  v: Tensor | null = null;

  /** tokens cached (Tpast) */
  get length(): number {
    return this.k ? this.k.shape[2]! : 0;
  }

  /**
   * Appends this step's keys/values and returns the full ones; the cache owns them (they survive tidy).
   *
   * @param k - This step's keys (B, H, T, hd).
   * @param v - This step's values (B, H, T, hd).
   * @returns The keys and values of every token so far.
   * @throws {@link @tinyformer/tensor!ShapeError} when k differs from the cached keys in anything but length.
   */
  append(k: Tensor, v: Tensor): { k: Tensor; v: Tensor } {
    const past = this.k;
    if (past && (k.rank !== 4 || [0, 1, 3].some((i) => k.shape[i] !== past.shape[i]))) {
      throw new ShapeError(
        'KVCache',
        `new keys ${formatShape(k.shape)} do not fit the cached keys ${formatShape(past.shape)} (they may differ only in length)`,
      );
    }
    const nk = this.k ? concat([this.k, k], 2) : k;
    const nv = this.v ? concat([this.v, v], 2) : v;
    if (this.k && this.k !== nk) this.k.dispose();
    if (this.v && this.v !== nv) this.v.dispose();
    this.k = nk.keep();
    this.v = nv.keep();
    return { k: nk, v: nv };
  }

  /** Disposes the cached keys and values and empties the cache. */
  clear(): void {
    this.k?.dispose();
    this.v?.dispose();
    this.k = null;
    this.v = null;
  }
}

/** One LayerKVCache per layer, for a whole model. */
export class KVCache {
  /** one cache per layer, in layer order */
  readonly layers: LayerKVCache[];

  /**
   * @param nLayers - The model's number of layers.
   * @throws {@link @tinyformer/tensor!TensorError} when nLayers is not a positive integer.
   */
  constructor(
    /** the model's number of layers */
    readonly nLayers: number,
  ) {
    if (!Number.isInteger(nLayers) || nLayers <= 0)
      throw new TensorError('KVCache', `nLayers must be positive, got ${nLayers}`);
    this.layers = Array.from({ length: nLayers }, () => new LayerKVCache());
  }

  /** tokens cached (every layer holds the same number) */
  get length(): number {
    return this.layers[0]!.length;
  }

  /** Empties every layer's cache, disposing its tensors. */
  clear(): void {
    for (const l of this.layers) l.clear();
  }
}
