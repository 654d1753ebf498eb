import { checkOptions } from '../core/options.js';
import { fail, show } from '../core/errors.js';
import { abs, cast, mul, neg, sub } from '../trace/ops/elementwise.js';
import { iota } from '../trace/ops/creation.js';
import { maximum } from '../trace/ops/elementwise.js';
import { reshape } from '../trace/ops/movement.js';
import type { Dim } from '../core/shape.js';
import { tensor, type Tensor } from '../trace/tensor.js';
import { Module, positiveInt } from './module.js';
import { expectTensor } from '../trace/apply.js';

// H heads, Tq query positions, Tk key positions.

/**
 * ALiBi head slopes (Press et al. 2022, https://arxiv.org/abs/2108.12409):
 * for n a power of two, 2^(-8i/n) for i = 1..n; otherwise the slopes of the
 * nearest lower power of two m, followed by every other slope of 2m
 * (the paper's interleaving rule), n − m of them.
 */
export function alibiSlopes(heads: number): number[] {
  positiveInt('alibiSlopes', 'heads', heads);
  const pow2 = (n: number): number[] => Array.from({ length: n }, (_, i) => 2 ** ((-8 * (i + 1)) / n));
  const m = 2 ** Math.floor(Math.log2(heads));
  if (m === heads) return pow2(heads);
  return [...pow2(m), ...pow2(2 * m).filter((_, i) => i % 2 === 0).slice(0, heads - m)];
}

/** Options of {@link AlibiBias}. */
export interface AlibiOptions {
  /** 'causal' (default): bias −slope·(q − k), meant for keys at or before the query; 'bidirectional': −slope·|q − k|. */
  mode?: 'causal' | 'bidirectional';
}

/**
 * Attention with Linear Biases: no position embedding at all; each head
 * adds −slope·distance to its attention scores. It has no parameters and
 * extends to sequences longer than training without any extrapolation
 * trick (BLOOM uses it; the article found it best for fine-tuning on little
 * data). Output: a bias (H, Tq, Tk) to add to the scores.
 */
export class AlibiBias extends Module {
  readonly heads: number;
  readonly mode: 'causal' | 'bidirectional';
  readonly slopes: readonly number[];

  constructor(heads: number, options: AlibiOptions = {}) {
    super();
    checkOptions('AlibiBias', options, ['mode']);
    this.heads = positiveInt('AlibiBias', 'heads', heads);
    this.mode = options?.mode ?? 'causal';
    if (this.mode !== 'causal' && this.mode !== 'bidirectional') fail('AlibiBias', `mode expected 'causal' or 'bidirectional', got ${show(this.mode)}`);
    this.slopes = Object.freeze(alibiSlopes(heads));
  }

  /**
   * The bias for queries at `queryPositions` (Tq) int32 over keys 0..keyLength-1.
   * With a KV cache, queries sit at an offset: pass their absolute positions.
   */
  forward(queryPositions: Tensor, keyLength: Dim, dtype: 'float32' | 'float64' = 'float32'): Tensor {
    expectTensor('AlibiBias', 'queryPositions', queryPositions);
    if (queryPositions.rank !== 1) fail('AlibiBias', `queryPositions expected shape [Tq], got [${queryPositions.shape.join(', ')}]`);
    const q = reshape(cast(queryPositions, dtype), [queryPositions.shape[0], 1]); // (Tq, 1)
    const k = reshape(iota(keyLength, dtype), [1, keyLength]); // (1, Tk)
    const d = sub(q, k); // (Tq, Tk): how far back each key is
    // Keys after the query get no extra penalty in causal mode: the mask removes them anyway.
    const distance = this.mode === 'causal' ? maximum(d, 0) : abs(d);
    const slopes = tensor(Float64Array.from(this.slopes), { shape: [this.heads, 1, 1], dtype });
    return neg(mul(slopes, reshape(distance, [1, queryPositions.shape[0], keyLength]))); // (H, Tq, Tk)
  }
}
