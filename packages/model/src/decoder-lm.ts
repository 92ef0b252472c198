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

export interface ForwardOptions {
  /** decode with a KV cache: ids are the tokens after the cached ones */
  cache?: KVCache;
  probe?: ActivationProbe;
}

/**
 * A decoder-only language model: token embedding (+ learned positions), nLayers blocks, optional final norm, LM
 * head (tied to the embedding by default). GPT-2 init: N(0, 0.02), residual projections N(0, 0.02/sqrt(2L)).
 */
export class DecoderLM extends Module {
  readonly config: ModelConfig;
  readonly wte: Embedding;
  readonly wpe: Parameter | null;
  readonly blocks: Block[];
  readonly finalNorm: NormLayer | null;
  readonly lmHead: Parameter | null;

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

  /** ids (B, T) int32 -> logits (B, T, vocab). */
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

  /** Mean cross-entropy of next-token prediction; targets (B, T) int32. */
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

  newCache(): KVCache {
    return new KVCache(this.config.nLayers);
  }

  /** Parameters that get weight decay: matrices (rank >= 2); norms' gains, biases and nothing else 1-D do not. */
  decayGroups(): { decay: Parameter[]; noDecay: Parameter[] } {
    const decay: Parameter[] = [];
    const noDecay: Parameter[] = [];
    for (const p of this.parameters()) (p.rank >= 2 ? decay : noDecay).push(p);
    return { decay, noDecay };
  }
}
