import { optionKeys } from '../core/options.js';
import { softmax } from '../functional/softmax.js';
import { fail, show } from '../core/errors.js';
import { add, cast, equal, less, mul, where } from '../trace/ops/elementwise.js';
import { sum } from '../trace/ops/reduce.js';
import { iota } from '../trace/ops/creation.js';
import { matmul } from '../trace/ops/linalg.js';
import { concat, expand, reshape, swapAxes, transpose, unsqueeze } from '../trace/ops/movement.js';
import { formatShape, mayEqual, type Dim } from '../core/shape.js';
import { tensor, type Tensor } from '../trace/tensor.js';
import { AlibiBias } from './alibi-bias.js';
import { Dropout } from './dropout.js';
import { deriveSeed } from './init.js';
import { Linear } from './linear.js';
import { Module, moduleOptions, positiveInt, type ForwardContext, type ModuleOptions } from './module.js';
import { RelativePositionBias } from './relative-position-bias.js';
import { RotaryEmbedding } from './rotary-embedding.js';
import { expectTensor } from '../trace/apply.js';

// B batch, T new tokens, P cached tokens, S = P + T keys, C model width,
// H query heads, K kv heads, G = H / K query heads per kv head, D head dim.

/** Keys and values of earlier tokens, (B, K, P, D) each: K/H the size of multi-head attention's cache. */
export interface KvCache {
  readonly key: Tensor;
  readonly value: Tensor;
}

/** How attention knows where tokens are: rotate q and k, add a bias to the scores, or neither. */
export type PositionModule = RotaryEmbedding | AlibiBias | RelativePositionBias;

/** Options of {@link MultiQueryAttention}. */
export interface AttentionOptions extends ModuleOptions {
  /** Key/value heads: 1 is multi-query (Shazeer 2019), `heads` is multi-head, between is grouped-query (Ainslie et al. 2023). Default `heads`. */
  kvHeads?: number;
  /** Width of each head (default dim / heads). */
  headDim?: number;
  /** Mask keys after each query (default true). */
  causal?: boolean;
  /** Position handling (default none). */
  position?: PositionModule | null;
  /** Apply dropout to the attention probabilities at the context's rate (default false). */
  attentionDropout?: boolean;
  /**
   * Learned biases on the projections: 'none' (default, LLaMA), 'qkv' (q, k
   * and v: Qwen2) or 'all' (o too: LLaMA's `attention_bias: true`).
   */
  bias?: 'none' | 'qkv' | 'all';
}

const ATTENTION_KEYS = optionKeys<AttentionOptions>({ seed: true, dtype: true, kvHeads: true, headDim: true, causal: true, position: true, attentionDropout: true, bias: true });

/** Per-call inputs of {@link MultiQueryAttention.forward}. */
export interface AttentionCall {
  /**
   * Positions of the new tokens, (T) int32: always P..P+T-1 after a cache of
   * P tokens (keys sit at 0..S-1). The default; pass it only where P is
   * symbolic (a traced decoding step), where it cannot be computed. With
   * rotary positions they may instead be per row, (B, T) (left-padded
   * batches, as transformers' position_ids); the causal mask then follows
   * the tokens' order, not these values.
   */
  positions?: Tensor;
  /**
   * Which keys each row may attend to, (B, P+T) int32, int64 or bool: 0
   * (false) masks a key out, as transformers' attention_mask (padding). A
   * query whose every key is masked attends evenly to all (finite, no NaN).
   */
  attentionMask?: Tensor;
  /** Keys and values of the tokens before these. */
  cache?: KvCache;
  /** Dropout rate, seed and step. */
  ctx?: ForwardContext;
}

/** The attention output (B, T, C) and the cache extended by the new tokens. */
export interface AttentionResult {
  readonly output: Tensor;
  readonly cache: KvCache;
}

/** P..P+T-1 as int32, or an error when P is symbolic and so must be fed. */
export function defaultPositions(site: string, T: Dim, P: Dim): Tensor {
  if (typeof P !== 'number') fail(site, `positions expected when the cache length is symbolic ('${P}'), got none`);
  return P === 0 ? iota(T, 'int32') : add(iota(T, 'int32'), P);
}

/**
 * Checks given positions: (T) int32, and when known, exactly P..P+T-1 (what
 * the mask and the biases assume); or per row, (B, T), when `perRow` allows.
 */
export function checkPositions(site: string, positions: Tensor, T: Dim, P: Dim, perRow?: { B: Dim }): void {
  const intType = positions.dtype === 'int32' || positions.dtype === 'int64';
  if (perRow && positions.rank === 2) {
    if (!intType || !mayEqual(positions.shape[0], perRow.B) || !mayEqual(positions.shape[1], T)) fail(site, `positions expected an int32 tensor of shape [${perRow.B}, ${T}], got ${positions.dtype}${formatShape(positions.shape)}`);
    return;
  }
  if (positions.rank !== 1 || !intType || (typeof T === 'number' && positions.shape[0] !== T)) {
    fail(site, `positions expected an int32 tensor of shape [${T}]${perRow ? ` or [${perRow.B}, ${T}]` : ''}, got ${positions.dtype}${formatShape(positions.shape)}`);
  }
  if (positions.isTraced || typeof P !== 'number') return;
  const got = Array.from(positions.data(), Number);
  if (got.some((p, i) => p !== P + i)) fail(site, `positions expected ${P}..${P + got.length - 1} (the tokens after a cache of ${P}), got ${show(got)}`);
}

/** The length of `t`'s `axis` as an int32 scalar computed at run time (0 without a tensor): symbolic dims have no value at trace time. */
function lengthOf(t: Tensor | undefined, axis: number): Tensor {
  if (!t) return tensor(0, { dtype: 'int32' });
  const n = t.shape[axis];
  return typeof n === 'number' ? tensor(n, { dtype: 'int32' }) : sum(expand(tensor(1, { dtype: 'int32' }), [n]));
}

// Added where a key is masked out; finite so a fully masked row gives no NaN, and large enough
// that adding a score to it leaves it unchanged in float32 and float64.
const MASKED = -1e30;

/**
 * Causal self-attention with shared key/value heads. Query head h reads kv
 * head floor(h / G), the convention of Hugging Face, PyTorch SDPA and ONNX,
 * so weights port without permuting heads. Keys and values are never copied
 * per query head: each kv head's G query heads are rows of one matmul
 * against it (or broadcast against it where T is symbolic), and the cache
 * holds K heads, K/H the memory of multi-head attention.
 * Projections are named q_proj, k_proj, v_proj, o_proj, bias-free unless `bias` says otherwise.
 */
export class MultiQueryAttention extends Module {
  readonly dim: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly causal: boolean;
  readonly position: PositionModule | null;
  readonly qProj: Linear;
  readonly kProj: Linear;
  readonly vProj: Linear;
  readonly oProj: Linear;
  readonly dropout: Dropout | null;

  constructor(dim: number, heads: number, options: AttentionOptions = {}) {
    super();
    const site = 'MultiQueryAttention';
    this.dim = positiveInt(site, 'dim', dim);
    this.heads = positiveInt(site, 'heads', heads);
    this.kvHeads = positiveInt(site, 'kvHeads', options?.kvHeads ?? heads);
    if (this.heads % this.kvHeads !== 0) fail(site, `heads (${heads}) must be a multiple of kvHeads (${this.kvHeads})`);
    if (options?.headDim === undefined && dim % heads !== 0) fail(site, `dim (${dim}) must be a multiple of heads (${heads}), or give headDim`);
    this.headDim = positiveInt(site, 'headDim', options?.headDim ?? dim / heads);
    this.causal = options?.causal ?? true;
    const position = options?.position ?? null;
    if (position !== null && !(position instanceof RotaryEmbedding || position instanceof AlibiBias || position instanceof RelativePositionBias)) {
      fail(site, `position expected a RotaryEmbedding, AlibiBias, RelativePositionBias or null, got ${show(position)}`);
    }
    if (position instanceof RotaryEmbedding && position.headDim !== this.headDim) fail(site, `position expected a RotaryEmbedding of headDim ${this.headDim}, got ${position.headDim}`);
    if ((position instanceof AlibiBias || position instanceof RelativePositionBias) && position.heads !== heads) {
      fail(site, `position expected a bias for ${heads} heads, got ${position.heads}`);
    }
    this.position = position;
    const { seed, dtype } = moduleOptions(site, options, ATTENTION_KEYS);
    const bias = options?.bias ?? 'none';
    if (bias !== 'none' && bias !== 'qkv' && bias !== 'all') fail(site, `bias expected 'none', 'qkv' or 'all', got ${show(bias)}`);
    const proj = (name: string, i: number, o: number, withBias: boolean): Linear => this.module(name, new Linear(i, o, { seed: deriveSeed(seed, name), dtype, bias: withBias }));
    this.qProj = proj('q_proj', dim, heads * this.headDim, bias !== 'none');
    this.kProj = proj('k_proj', dim, this.kvHeads * this.headDim, bias !== 'none');
    this.vProj = proj('v_proj', dim, this.kvHeads * this.headDim, bias !== 'none');
    this.oProj = proj('o_proj', heads * this.headDim, dim, bias === 'all');
    if (position instanceof RelativePositionBias) this.module('relative_bias', position);
    this.dropout = options?.attentionDropout ? this.module('attn_dropout', new Dropout({ seed: deriveSeed(seed, 'attn_dropout') })) : null;
  }

  forward(x: Tensor, call: AttentionCall = {}): AttentionResult {
    expectTensor('MultiQueryAttention', 'x', x);
    const self = 'MultiQueryAttention';
    if (x.rank !== 3 || x.shape[2] !== this.dim) fail(self, `input expected shape [B, T, ${this.dim}], got ${formatShape(x.shape)}`);
    const [B, T] = x.shape;
    const [H, K, D] = [this.heads, this.kvHeads, this.headDim];
    const G = H / K;
    const past = call?.cache;
    const P = past ? past.key.shape[2] : 0;
    const positions = call?.positions ?? defaultPositions(self, T, P);
    const rotary = this.position instanceof RotaryEmbedding;
    checkPositions(self, positions, T, P, rotary || this.position === null ? { B } : undefined);
    // Queries as rows of (B, K, R, D), R = T·G, ordered (token, head of the group), when T is a number:
    // the projection's own order, so each kv head's scores are one matmul of T·G rows and, with one kv
    // head, the transposes of the queries and the output only move an axis of size 1 (the ONNX lowering
    // makes them Reshapes: nothing is copied). A symbolic T has no T·G dimension: there the queries are
    // (B, K, G, T, D) and broadcast against the keys.
    const rows = typeof T === 'number';
    const qh = reshape(this.qProj.forward(x), [B, T, K, G, D]);
    let q = rows ? reshape(transpose(qh, [0, 2, 1, 3, 4]), [B, K, T * G, D]) : transpose(qh, [0, 2, 3, 1, 4]);
    let k = transpose(reshape(this.kProj.forward(x), [B, T, K, D]), [0, 2, 1, 3]); // (B, K, T, D)
    const v0 = transpose(reshape(this.vProj.forward(x), [B, T, K, D]), [0, 2, 1, 3]);
    if (this.position instanceof RotaryEmbedding) {
      // Each row of q at its token's position: the positions repeated G times.
      const repeat = (p: Tensor): Tensor => reshape(expand(unsqueeze(p, -1), [...p.shape, G]), [...p.shape.slice(0, -1), (T as number) * G]);
      q = this.position.forward(q, rows && G > 1 ? repeat(positions) : positions);
      k = this.position.forward(k, positions);
    }
    const key = past ? concat([past.key, k], 2) : k; // (B, K, S, D)
    const value = past ? concat([past.value, v0], 2) : v0;
    const S = key.shape[2];
    const mask = call?.attentionMask;
    if (mask !== undefined) {
      expectTensor(self, 'attentionMask', mask);
      if (mask.rank !== 2 || !['int32', 'int64', 'bool'].includes(mask.dtype) || !mayEqual(mask.shape[0], B) || !mayEqual(mask.shape[1], S)) {
        fail(self, `attentionMask expected an int32, int64 or bool tensor of shape [${B}, ${S}] (the cached and new tokens), got ${mask.dtype}${formatShape(mask.shape)}`);
      }
    }
    const float = x.dtype === 'float64' ? 'float64' : 'float32';
    // Scores as (B, K, T, G, S), or (B, K, G, T, S) for a symbolic T; biases broadcast against either.
    const keysT = swapAxes(key, -1, -2); // (B, K, D, S)
    // (The scale right after the matmul: ONNX Runtime folds it into the matmul.)
    const scaled = mul(matmul(q, rows ? keysT : unsqueeze(keysT, 2)), 1 / Math.sqrt(D));
    let scores = rows ? reshape(scaled, [B, K, T, G, S]) : scaled;
    // Position bias and causal mask are summed at their own small shapes, then added to the scores once:
    // an Add over the scores is several times cheaper than a Where, and MASKED absorbs any finite score.
    let bias: Tensor | null = null;
    if (this.position instanceof AlibiBias || this.position instanceof RelativePositionBias) {
      const perHead = reshape(this.position.forward(positions, S, float), [K, G, T, S]);
      bias = rows ? transpose(perHead, [0, 2, 1, 3]) : perHead;
    }
    const masked = (m: Tensor): Tensor => where(m, tensor(MASKED, { dtype: x.dtype }), tensor(0, { dtype: x.dtype }));
    if (this.causal) {
      // Each query's index among the S keys: its position, unless positions are per row (then P + t).
      const index = positions.rank === 1 ? cast(positions, 'int32') : add(iota(T, 'int32'), lengthOf(past?.key, 2));
      const later = less(reshape(index, [T, 1]), reshape(iota(S, 'int32'), [1, S])); // (T, S): key after query
      const causal = rows ? reshape(masked(later), [T, 1, S]) : masked(later);
      bias = bias ? add(bias, causal) : causal;
    }
    if (mask !== undefined) {
      const padding = reshape(masked(equal(cast(mask, 'int32'), 0)), [B, 1, 1, 1, S]); // (B, 1, 1, 1, S)
      bias = bias ? add(bias, padding) : padding;
    }
    if (bias) scores = add(scores, bias);
    let probs = softmax(scores, -1);
    if (this.dropout) probs = this.dropout.forward(probs, call?.ctx);
    // (B, K, T, G, D) or (B, K, G, T, D), then the heads of each token side by side.
    const out = rows ? reshape(matmul(reshape(probs, [B, K, T * G, S]), value), [B, K, T, G, D]) : matmul(probs, unsqueeze(value, 2));
    const merged = reshape(transpose(out, rows ? [0, 2, 1, 3, 4] : [0, 3, 1, 2, 4]), [B, T, H * D]);
    return { output: this.oProj.forward(merged), cache: { key, value } };
  }
}
