import { optionKeys } from '../core/options.js';
import { fail, show } from '../core/errors.js';
import { add, cast } from '../trace/ops/elementwise.js';
import { iota } from '../trace/ops/creation.js';
import { gather } from '../trace/ops/indexing.js';
import { max } from '../trace/ops/reduce.js';
import { formatShape } from '../core/shape.js';
import type { Tensor } from '../trace/tensor.js';
import { AlibiBias } from './alibi-bias.js';
import { TransformerBlock } from './decoder-block.js';
import { Dropout } from './dropout.js';
import { Embedding, LearnedPositionEmbedding } from './embedding.js';
import { deriveSeed } from './init.js';
import { Linear } from './linear.js';
import { type CacheSlot, type LanguageModel, type LanguageModelCall } from './language-model.js';
import { Module, moduleOptions, positiveInt, type ModuleOptions } from './module.js';
import { checkPositions, defaultPositions, MultiQueryAttention, type KvCache, type PositionModule } from './multi-query-attention.js';
import { LayerNorm, RmsNorm } from './norms.js';
import { RelativePositionBias } from './relative-position-bias.js';
import { RotaryEmbedding, type RotaryOptions } from './rotary-embedding.js';
import { SwiGlu, swigluHidden } from './swiglu.js';
import { expectTensor } from '../trace/apply.js';

// B batch, T tokens, V vocabulary, C width.

/** Position encodings a {@link DecoderLM} can use: the article's four families, or none. */
export type PositionKind = 'rope' | 'alibi' | 'learned' | 'relative' | 'none';

/** The shape of a {@link DecoderLM}. */
export interface DecoderLMConfig extends ModuleOptions {
  vocab: number;
  /** Model width C. */
  dim: number;
  layers: number;
  heads: number;
  /** Default `heads` (multi-head); 1 is multi-query. */
  kvHeads?: number;
  /** Default dim / heads. */
  headDim?: number;
  /** SwiGLU hidden width (default 8/3 · dim rounded up to a multiple of 8). */
  hidden?: number;
  /** Default 'rope'. */
  position?: PositionKind;
  /** Default 'rms'. */
  norm?: 'rms' | 'layer';
  /** Norm epsilon (default 1e-6 for RMSNorm, 1e-5 for LayerNorm). */
  eps?: number;
  /** Share the token embedding with the output head (default false). */
  tiedEmbeddings?: boolean;
  /** Insert dropout layers (embedding, attention, residual); their rate is a runtime input. Default false. */
  dropout?: boolean;
  /** Longest sequence for learned positions and the rotary tables (default 2048). */
  maxPositions?: number;
  /** Rotary options (base, rotaryDim, layout, scaling) for position 'rope'. */
  rope?: Omit<RotaryOptions, 'maxPositions'>;
  /** Biases on the attention projections: 'none' (default), 'qkv' (Qwen2) or 'all' (LLaMA's attention_bias). */
  attentionBias?: 'none' | 'qkv' | 'all';
}

const DECODER_LM_KEYS = optionKeys<DecoderLMConfig>({
  vocab: true, dim: true, layers: true, heads: true, kvHeads: true, headDim: true, hidden: true, position: true, norm: true, eps: true,
  tiedEmbeddings: true, dropout: true, maxPositions: true, rope: true, attentionBias: true, seed: true, dtype: true,
});

/** Per-call inputs of {@link DecoderLM.forward}: those of any {@link LanguageModel}. */
export type DecoderCall = LanguageModelCall;

/**
 * A decoder-only language model from the blocks: token embedding, optional
 * learned positions, `layers` pre-norm blocks of grouped-query attention and
 * SwiGLU, a final norm and the output head. Parameter names follow Hugging
 * Face LLaMA (`model.embed_tokens.weight`, `model.layers.0.self_attn.q_proj.weight`,
 * `model.norm.weight`, `lm_head.weight`).
 */
export class DecoderLM extends Module implements LanguageModel {
  /** The config with every default filled in (`rope` is null unless position is 'rope'). */
  readonly config: Readonly<Required<Pick<DecoderLMConfig, 'vocab' | 'dim' | 'layers' | 'heads' | 'kvHeads' | 'headDim' | 'hidden' | 'position' | 'norm' | 'eps' | 'tiedEmbeddings' | 'dropout' | 'maxPositions' | 'attentionBias' | 'dtype'>> & {
    readonly rope: Readonly<Omit<RotaryOptions, 'maxPositions'>> | null;
  }>;
  readonly embedTokens: Embedding;
  readonly embedPositions: LearnedPositionEmbedding | null;
  readonly embedDropout: Dropout | null;
  readonly layers: readonly TransformerBlock[];
  readonly finalNorm: RmsNorm | LayerNorm;
  readonly lmHead: Linear | null;

  constructor(config: DecoderLMConfig) {
    super();
    const site = 'DecoderLM';
    if (typeof config !== 'object' || config === null) fail(site, `config expected { vocab, dim, layers, heads, ... }, got ${show(config)}`);
    const vocab = positiveInt(site, 'vocab', config.vocab);
    const dim = positiveInt(site, 'dim', config.dim);
    const layers = positiveInt(site, 'layers', config.layers);
    const heads = positiveInt(site, 'heads', config.heads);
    const kvHeads = config.kvHeads ?? heads;
    if (config.headDim === undefined && dim % heads !== 0) fail(site, `dim (${dim}) must be a multiple of heads (${heads}), or give headDim`);
    const headDim = config.headDim ?? dim / heads;
    const position = config.position ?? 'rope';
    if (!['rope', 'alibi', 'learned', 'relative', 'none'].includes(position)) fail(site, `position expected 'rope', 'alibi', 'learned', 'relative' or 'none', got ${show(position)}`);
    const norm = config.norm ?? 'rms';
    if (norm !== 'rms' && norm !== 'layer') fail(site, `norm expected 'rms' or 'layer', got ${show(norm)}`);
    const maxPositions = positiveInt(site, 'maxPositions', config.maxPositions ?? 2048);
    const hidden = positiveInt(site, 'hidden', config.hidden ?? swigluHidden(dim));
    const { seed, dtype } = moduleOptions(site, config, DECODER_LM_KEYS);
    const attentionBias = config.attentionBias ?? 'none';
    if (!['none', 'qkv', 'all'].includes(attentionBias)) fail(site, `attentionBias expected 'none', 'qkv' or 'all', got ${show(attentionBias)}`);
    this.config = Object.freeze({
      vocab, dim, layers, heads, kvHeads, headDim, hidden, position, norm, maxPositions, dtype, attentionBias,
      eps: config.eps ?? (norm === 'rms' ? 1e-6 : 1e-5),
      tiedEmbeddings: config.tiedEmbeddings ?? false, dropout: config.dropout ?? false,
      rope: position === 'rope' ? Object.freeze({ ...config.rope }) : null,
    });
    const model = this.module('model', new DecoderStack());
    const s = (name: string): number => deriveSeed(seed, name);
    this.embedTokens = model.add('embed_tokens', new Embedding(vocab, dim, { seed: s('embed_tokens'), dtype }));
    this.embedPositions = position === 'learned' ? model.add('embed_positions', new LearnedPositionEmbedding(maxPositions, dim, { seed: s('embed_positions'), dtype })) : null;
    this.embedDropout = this.config.dropout ? model.add('embed_dropout', new Dropout({ seed: s('embed_dropout') })) : null;
    const rotary = position === 'rope' ? new RotaryEmbedding(headDim, { ...config.rope, maxPositions }) : null;
    const alibi = position === 'alibi' ? new AlibiBias(heads) : null;
    const layerList = model.add('layers', new DecoderStack());
    this.layers = Array.from({ length: layers }, (_, i) => {
      const ls = s(`layers.${i}`);
      const pos: PositionModule | null = rotary ?? alibi ?? (position === 'relative' ? new RelativePositionBias(heads, { seed: deriveSeed(ls, 'relative_bias'), dtype }) : null);
      const attention = new MultiQueryAttention(dim, heads, { kvHeads, headDim, position: pos, attentionDropout: this.config.dropout, bias: attentionBias, seed: deriveSeed(ls, 'self_attn'), dtype });
      const mlp = new SwiGlu(dim, { hidden, seed: deriveSeed(ls, 'mlp'), dtype });
      return layerList.add(String(i), new TransformerBlock(dim, attention, { norm, eps: config.eps, dropout: this.config.dropout, seed: ls, dtype, mlp }));
    });
    this.finalNorm = model.add('norm', norm === 'rms' ? new RmsNorm(dim, { eps: config.eps, dtype }) : new LayerNorm(dim, { eps: config.eps, dtype }));
    this.lmHead = this.config.tiedEmbeddings ? null : this.module('lm_head', new Linear(dim, vocab, { seed: s('lm_head'), dtype }));
  }

  /** The vocabulary size (config.vocab). */
  get vocab(): number {
    return this.config.vocab;
  }

  /** The longest sequence (config.maxPositions). */
  get maxPositions(): number {
    return this.config.maxPositions;
  }

  /** Every layer caches (B, kvHeads, P, headDim) keys and values in the model's dtype. */
  get cacheLayout(): readonly CacheSlot[] {
    const { layers, kvHeads, headDim, dtype } = this.config;
    return Array.from({ length: layers }, () => ({ kvHeads, headDim, dtype }));
  }

  /** Logits (B, T, V) ((B, 1, V) with `lastLogitsOnly`) for token ids (B, T) int32, and the extended per-layer caches. */
  forward(ids: Tensor, call: DecoderCall = {}): { logits: Tensor; cache: KvCache[] } {
    expectTensor('DecoderLM', 'ids', ids);
    const site = 'DecoderLM';
    if (ids.rank !== 2 || (ids.dtype !== 'int32' && ids.dtype !== 'int64')) fail(site, `ids expected an int32 tensor of shape [B, T], got ${ids.dtype}${formatShape(ids.shape)}`);
    const cache = call?.cache;
    if (cache !== undefined && (!Array.isArray(cache) || cache.length !== this.layers.length)) {
      fail(site, `cache expected one entry per layer (${this.layers.length}), got ${show(Array.isArray(cache) ? cache.length : cache)}`);
    }
    const lastOnly = call?.lastLogitsOnly;
    if (lastOnly !== undefined && typeof lastOnly !== 'boolean') fail(site, `lastLogitsOnly expected true or false, got ${show(lastOnly)}`);
    const T = ids.shape[1];
    const P = cache ? cache[0].key.shape[2] : 0;
    const positions = call?.positions ?? defaultPositions(site, T, P);
    const perRow = ['rope', 'learned', 'none'].includes(this.config.position);
    checkPositions(site, positions, T, P, perRow ? { B: ids.shape[0] } : undefined);
    let h = this.embedTokens.forward(ids); // (B, T, C)
    if (this.embedPositions) h = add(h, this.embedPositions.forward(positions));
    if (this.embedDropout) h = this.embedDropout.forward(h, call?.ctx);
    const caches: KvCache[] = [];
    this.layers.forEach((layer, i) => {
      const out = layer.forward(h, { positions, cache: cache?.[i], ctx: call?.ctx, attentionMask: call?.attentionMask });
      h = out.output;
      caches.push(out.cache);
    });
    // The last token's state alone, where only its logits are asked for. T may be symbolic, so its index is max(iota(T)),
    // taken in float32 (exact below 2^24): WebGPU has ReduceMax for floats.
    if (lastOnly) h = gather(h, cast(max(cast(iota(T), 'float32'), 0, { keepDims: true }), 'int32'), 1);
    h = this.finalNorm.forward(h);
    const logits = this.lmHead ? this.lmHead.forward(h) : this.embedTokens.attend(h);
    return { logits, cache: caches };
  }
}

/** A named container, so parameter names nest as `model.layers.0...`. */
class DecoderStack extends Module {
  add<M extends Module>(name: string, child: M): M {
    return this.module(name, child);
  }
}
