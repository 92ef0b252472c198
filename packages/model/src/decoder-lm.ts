import { KVCache } from '@tinyformer/attention';
import { Embedding, Module, type Parameter } from '@tinyformer/autograd';
import { createNorm, type NormLayer } from '@tinyformer/norm';
import {
  crossEntropy,
  formatShape,
  matmul,
  Rng,
  randn,
  ShapeError,
  type Tensor,
  TensorError,
} from '@tinyformer/tensor';
import { Block, blockNormConfig } from './block.js';
import { type ModelConfig, type ModelConfigInput, resolveModelConfig } from './config.js';
import type { ActivationProbe } from './probe.js';

/** Options of DecoderLM.forward and DecoderLM.loss. */
export interface ForwardOptions {
  /** decode with a KV cache: ids are the tokens after the cached ones */
  cache?: KVCache;
  /** records per-layer activation RMS (off when omitted) */
  probe?: ActivationProbe;
}

/**
 * A decoder-only language model: token embedding (+ learned positions), nLayers blocks, optional final norm, LM
 * head (tied to the embedding by default). GPT-2 init: N(0, 0.02), residual projections N(0, 0.02/sqrt(2L)).
 */
export class DecoderLM extends Module {
  /** the resolved config */
  readonly config: ModelConfig;
  /** the token embedding [vocabSize, dModel] (also the LM head when tied) */
  readonly wte: Embedding;
  /** learned position embeddings [contextLength, dModel], or null with RoPE */
  readonly wpe: Parameter | null;
  /** the transformer blocks */
  readonly blocks: Block[];
  /** the norm before the LM head, or null without one */
  readonly finalNorm: NormLayer | null;
  /** the LM head [vocabSize, dModel], or null when tied to the embedding */
  readonly lmHead: Parameter | null;

  /**
   * @param config - The model's config; defaults are filled in and it is validated (see resolveModelConfig).
   * @param opts - The seed of the weights' initialization (default 0).
   * @throws {@link ConfigError} naming each invalid field.
   *
   * @example
   * ```ts
   * const model = new DecoderLM({ vocabSize: 65, contextLength: 128, dModel: 64, nLayers: 2, nHeads: 4 }, { seed: 1 });
   * const ids = tensor(Int32Array.from([1, 2, 3]), [1, 3]); // int32 ids (B = 1, T = 3)
   * const logits = model.forward(ids); // (1, 3, 65)
   * const loss = model.loss(ids, targets); // a scalar: mean next-token cross-entropy
   * ```
   */
  constructor(config: ModelConfigInput | ModelConfig, opts: { seed?: number } = {}) {
    super();
    const c = resolveModelConfig(config);
    this.config = c;
    const rng = new Rng(opts.seed ?? 0);
    this.wte = this.addModule('wte', new Embedding(c.vocabSize, c.dModel, { rng }));
    this.wpe =
      c.positional === 'learned'
        ? this.addParameter('wpe', randn([c.contextLength, c.dModel], { std: 0.02, rng }))
        : null;
    this.blocks = [];
    for (let i = 0; i < c.nLayers; i++) this.blocks.push(this.addModule(`blocks.${i}`, new Block(c, i, rng)));
    this.finalNorm = c.finalNorm ? this.addModule('finalNorm', createNorm(blockNormConfig(c), c.dModel)) : null;
    this.lmHead = c.tieEmbeddings
      ? null
      : this.addParameter('lmHead', randn([c.vocabSize, c.dModel], { std: 0.02, rng }));
    // parameters are known by their full path (optimizer state, checkpoints, error messages)
    for (const [path, p] of this.namedParameters()) p.name = path;
  }

  /**
   * ids (B, T) int32 -> logits (B, T, vocab).
   *
   * @param ids - (B, T) int32 token ids.
   * @param opts - A KV cache to decode with, an activation probe.
   * @returns (B, T, vocabSize) logits.
   * @throws {@link @tinyformer/tensor!ShapeError} when ids is not (B, T), is empty, or (with the cache) exceeds the context length.
   * @throws {@link @tinyformer/tensor!TensorError} when ids is not int32 or the cache has another number of layers.
   */
  forward(ids: Tensor, opts: ForwardOptions = {}): Tensor {
    const c = this.config;
    if (ids.rank !== 2) throw new ShapeError('DecoderLM.forward', `ids must be (B, T), got ${formatShape(ids.shape)}`);
    if (ids.dtype !== 'int32') throw new TensorError('DecoderLM.forward', `ids must be int32, got ${ids.dtype}`);
    const [B, T] = ids.shape as [number, number];
    if (B === 0 || T === 0) {
      throw new ShapeError('DecoderLM.forward', `ids ${formatShape(ids.shape)} are empty: need B >= 1 and T >= 1`);
    }
    const start = opts.cache ? opts.cache.length : 0;
    if (start + T > c.contextLength) {
      throw new ShapeError(
        'DecoderLM.forward',
        `${start > 0 ? `${start} cached + ` : ''}${T} tokens exceed the context length ${c.contextLength}`,
      );
    }
    if (opts.cache && opts.cache.nLayers !== c.nLayers) {
      throw new TensorError(
        'DecoderLM.forward',
        `the KV cache has ${opts.cache.nLayers} layers, the model ${c.nLayers}`,
      );
    }
    let x = this.wte.forward(ids); // (B, T, C)
    if (this.wpe) {
      x = x.add(this.wpe.slice([start, 0], [T, c.dModel]));
    }
    for (const [i, block] of this.blocks.entries()) x = block.forward(x, opts.cache?.layers[i], opts.probe);
    if (this.finalNorm) x = this.finalNorm.forward(x);
    const head = this.lmHead ?? this.wte.weight;
    // (B*T, C) x (V, C)^T
    return matmul(x.reshape([B * T, c.dModel]), head, { transB: true }).reshape([B, T, c.vocabSize]);
  }

  /**
   * Mean cross-entropy of next-token prediction; targets (B, T) int32.
   *
   * @param ids - (B, T) int32 token ids.
   * @param targets - (B, T) int32 next-token ids.
   * @param opts - A KV cache, an activation probe.
   * @returns A scalar tensor.
   * @throws {@link @tinyformer/tensor!TensorError} when targets is not int32; {@link @tinyformer/tensor!ShapeError} when its shape differs from ids'.
   */
  loss(ids: Tensor, targets: Tensor, opts: ForwardOptions = {}): Tensor {
    if (targets.dtype !== 'int32') {
      throw new TensorError(
        'DecoderLM.loss',
        `targets must be int32, got ${targets.dtype} ${formatShape(targets.shape)}`,
      );
    }
    if (targets.rank !== 2 || targets.shape[0] !== ids.shape[0] || targets.shape[1] !== ids.shape[1]) {
      throw new ShapeError(
        'DecoderLM.loss',
        `targets ${formatShape(targets.shape)} must match ids ${formatShape(ids.shape)}`,
      );
    }
    const logits = this.forward(ids, opts);
    const V = this.config.vocabSize;
    return crossEntropy(logits.reshape([-1, V]), targets.reshape([-1]));
  }

  /**
   * An empty KV cache for this model, for forward's `cache` option.
   *
   * @returns A cache with one layer cache per block.
   */
  newCache(): KVCache {
    return new KVCache(this.config.nLayers);
  }

  /**
   * Parameters that get weight decay: matrices (rank >= 2); norms' gains, biases and nothing else 1-D do not.
   *
   * @returns decay: the matrices; noDecay: every 1-D parameter.
   */
  decayGroups(): { decay: Parameter[]; noDecay: Parameter[] } {
    const decay: Parameter[] = [];
    const noDecay: Parameter[] = [];
    for (const p of this.parameters()) (p.rank >= 2 ? decay : noDecay).push(p);
    return { decay, noDecay };
  }
}
