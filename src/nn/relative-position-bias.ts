import { optionKeys } from '../core/options.js';
import { fail } from '../core/errors.js';
import { add, cast, less, neg, sub, where, abs, maximum } from '../trace/ops/elementwise.js';
import { iota } from '../trace/ops/creation.js';
import { gather } from '../trace/ops/indexing.js';
import { reshape, transpose } from '../trace/ops/movement.js';
import type { Dim } from '../core/shape.js';
import { tensor, type Tensor } from '../trace/tensor.js';
import { Embedding } from './embedding.js';
import { Module, moduleOptions, positiveInt, type ModuleOptions, type Parameter } from './module.js';
import { expectTensor } from '../trace/apply.js';

// H heads, Tq query positions, Tk key positions, N buckets.

/** Options of {@link RelativePositionBias}. */
export interface RelativePositionBiasOptions extends ModuleOptions {
  /** Buckets of relative distance (default 32, as T5). */
  buckets?: number;
  /** Distances at and past this share the last bucket (default 128, as T5). */
  maxDistance?: number;
  /** Separate buckets for keys after the query (default false: a causal decoder only looks back). */
  bidirectional?: boolean;
}

const RELATIVEPOSITIONBIAS_KEYS = optionKeys<RelativePositionBiasOptions>({ seed: true, dtype: true, buckets: true, maxDistance: true, bidirectional: true });

/**
 * A learned relative-position bias per head (T5, Raffel et al. 2020): the
 * distance k − q falls into one of N buckets, exact for small distances and
 * logarithmic up to maxDistance, and each (bucket, head) has a trainable
 * bias. The trainable relative scheme the article contrasts with ALiBi.
 * Output: a bias (H, Tq, Tk) to add to the scores. Parameter name:
 * `relative_attention_bias.weight`, (N, H), as in Hugging Face T5.
 */
export class RelativePositionBias extends Module {
  readonly heads: number;
  readonly buckets: number;
  readonly maxDistance: number;
  readonly bidirectional: boolean;
  readonly weight: Parameter;

  constructor(heads: number, options: RelativePositionBiasOptions = {}) {
    super();
    const site = 'RelativePositionBias';
    this.heads = positiveInt(site, 'heads', heads);
    this.buckets = positiveInt(site, 'buckets', options?.buckets ?? 32);
    this.maxDistance = positiveInt(site, 'maxDistance', options?.maxDistance ?? 128);
    this.bidirectional = options?.bidirectional ?? false;
    const exact = Math.floor(this.oneSided() / 2);
    if (exact < 1 || this.maxDistance <= exact) fail(site, `maxDistance expected > ${exact} (half the one-sided buckets), got ${this.maxDistance}`);
    const { seed, dtype } = moduleOptions(site, options, RELATIVEPOSITIONBIAS_KEYS);
    // An (N, H) table under Hugging Face T5's name.
    this.weight = this.module('relative_attention_bias', new Embedding(this.buckets, heads, { seed, dtype })).weight;
  }

  /** Buckets for one direction: all of them, or half (rounded down, as T5) when bidirectional. */
  private oneSided(): number {
    return this.bidirectional ? Math.floor(this.buckets / 2) : this.buckets;
  }

  /**
   * The distances at which the log-spaced buckets start: bucket exact + i
   * begins at thresholds[i - 1]. Found in float64 from T5's formula
   * exact + floor(log(n / exact) / log(maxDistance / exact) · (half − exact)),
   * so the graph compares integers instead of taking logarithms.
   */
  private thresholds(): number[] {
    const half = this.oneSided();
    const exact = Math.floor(half / 2);
    const bucketOf = (n: number): number => exact + Math.floor((Math.log(n / exact) / Math.log(this.maxDistance / exact)) * (half - exact));
    const out: number[] = [];
    // The formula grows with n and reaches `half` at maxDistance: binary-search each bucket's first distance.
    for (let b = exact + 1; b < half; b++) {
      let lo = exact;
      let hi = this.maxDistance;
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        if (bucketOf(mid) >= b) hi = mid;
        else lo = mid + 1;
      }
      out.push(lo);
    }
    return out;
  }

  /**
   * Bucket index (Tq, Tk) int32 of each relative distance k − q, computed
   * with float32 comparisons against the bucket thresholds: distances are
   * integers, exact in float32, and every device has these ops.
   */
  bucket(queryPositions: Tensor, keyLength: Dim): Tensor {
    const f = 'float32';
    const q = reshape(cast(queryPositions, f), [queryPositions.shape[0], 1]);
    const k = reshape(iota(keyLength, f), [1, keyLength]);
    const rel = sub(k, q); // (Tq, Tk)
    const n = this.bidirectional ? abs(rel) : maximum(neg(rel), 0);
    const half = this.oneSided();
    const exact = Math.floor(half / 2);
    let bucket = where(less(n, exact), n, tensor(exact, { dtype: f }));
    for (const t of this.thresholds()) bucket = add(bucket, where(less(n, t), 0, tensor(1, { dtype: f })));
    if (this.bidirectional) bucket = add(bucket, where(less(0, rel), tensor(half, { dtype: f }), 0));
    return cast(bucket, 'int32');
  }

  forward(queryPositions: Tensor, keyLength: Dim, dtype: 'float32' | 'float64' = 'float32'): Tensor {
    expectTensor('RelativePositionBias', 'queryPositions', queryPositions);
    if (queryPositions.rank !== 1) fail('RelativePositionBias', `queryPositions expected shape [Tq], got [${queryPositions.shape.join(', ')}]`);
    const bias = gather(cast(this.weight.value, dtype), this.bucket(queryPositions, keyLength), 0); // (Tq, Tk, H)
    return transpose(bias, [2, 0, 1]); // (H, Tq, Tk)
  }
}
