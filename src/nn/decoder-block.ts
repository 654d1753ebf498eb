import { optionKeys } from '../core/options.js';
import { fail, show } from '../core/errors.js';
import { add } from '../trace/ops/elementwise.js';
import type { Tensor } from '../trace/tensor.js';
import { Dropout } from './dropout.js';
import { deriveSeed } from './init.js';
import { Module, moduleOptions, positiveInt, type ModuleOptions } from './module.js';
import type { AttentionCall, KvCache, MultiQueryAttention } from './multi-query-attention.js';
import { LayerNorm, RmsNorm } from './norms.js';
import { SwiGlu } from './swiglu.js';
import { expectTensor } from '../trace/apply.js';

/** A module mapping (..., dim) to (..., dim), such as {@link SwiGlu}. */
export type Mlp = Module & { forward(x: Tensor): Tensor };

/** Options of {@link TransformerBlock}. */
export interface TransformerBlockOptions extends ModuleOptions {
  /** 'rms' (default, LLaMA) or 'layer' (GPT-2). */
  norm?: 'rms' | 'layer';
  /** Norm epsilon (default 1e-6 for RMSNorm, 1e-5 for LayerNorm). */
  eps?: number;
  /** The MLP (default a SwiGlu of this width). */
  mlp?: Mlp;
  /** Dropout on both residual branches at the context's rate (default false). */
  dropout?: boolean;
}

const TRANSFORMERBLOCK_KEYS = optionKeys<TransformerBlockOptions>({ seed: true, dtype: true, norm: true, eps: true, mlp: true, dropout: true });

/**
 * A pre-norm decoder block: h = x + attn(norm₁(x)); y = h + mlp(norm₂(h)).
 * Names as in Hugging Face LLaMA: input_layernorm, self_attn,
 * post_attention_layernorm, mlp.
 */
export class TransformerBlock extends Module {
  readonly dim: number;
  readonly inputNorm: RmsNorm | LayerNorm;
  readonly attention: MultiQueryAttention;
  readonly postNorm: RmsNorm | LayerNorm;
  readonly mlp: Mlp;
  /** Dropout on the attention and MLP branches (separate layers, so their masks differ). */
  readonly residualDropout: readonly [Dropout, Dropout] | null;

  constructor(dim: number, attention: MultiQueryAttention, options: TransformerBlockOptions = {}) {
    super();
    const site = 'TransformerBlock';
    this.dim = positiveInt(site, 'dim', dim);
    if (attention?.dim !== dim) fail(site, `attention expected a MultiQueryAttention of dim ${dim}, got ${show(attention?.dim)}`);
    const { seed, dtype } = moduleOptions(site, options, TRANSFORMERBLOCK_KEYS);
    const kind = options?.norm ?? 'rms';
    if (kind !== 'rms' && kind !== 'layer') fail(site, `norm expected 'rms' or 'layer', got ${show(kind)}`);
    const norm = (): RmsNorm | LayerNorm => (kind === 'rms' ? new RmsNorm(dim, { eps: options?.eps, dtype }) : new LayerNorm(dim, { eps: options?.eps, dtype }));
    this.inputNorm = this.module('input_layernorm', norm());
    this.attention = this.module('self_attn', attention);
    this.postNorm = this.module('post_attention_layernorm', norm());
    this.mlp = this.module('mlp', options?.mlp ?? new SwiGlu(dim, { seed: deriveSeed(seed, 'mlp'), dtype }));
    const dropout = (name: string): Dropout => this.module(name, new Dropout({ seed: deriveSeed(seed, name) }));
    this.residualDropout = options?.dropout ? [dropout('attn_resid_dropout'), dropout('mlp_resid_dropout')] : null;
  }

  forward(x: Tensor, call: AttentionCall = {}): { output: Tensor; cache: KvCache } {
    expectTensor('TransformerBlock', 'x', x);
    const drop = (i: 0 | 1, t: Tensor): Tensor => (this.residualDropout ? this.residualDropout[i].forward(t, call?.ctx) : t);
    const attn = this.attention.forward(this.inputNorm.forward(x), call);
    const h = add(x, drop(0, attn.output));
    return { output: add(h, drop(1, this.mlp.forward(this.postNorm.forward(h)))), cache: attn.cache };
  }
}
