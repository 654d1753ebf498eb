import { optionKeys } from '../core/options.js';
import { add } from '../trace/ops/elementwise.js';
import { matmul } from '../trace/ops/linalg.js';
import { reshape, transpose } from '../trace/ops/movement.js';
import { fail } from '../core/errors.js';
import { formatShape } from '../core/shape.js';
import type { Tensor } from '../trace/tensor.js';
import { constantInit, normalInit } from './init.js';
import { Module, moduleOptions, positiveInt, type ModuleOptions, type Parameter } from './module.js';
import { expectTensor } from '../trace/apply.js';

/** Options of {@link Linear}. */
export interface LinearOptions extends ModuleOptions {
  /** Add a learned bias (default false: LLaMA's projections have none, which suits weight decay). */
  bias?: boolean;
  /** Std of the normal initialisation (default 0.02, as GPT-2 and LLaMA). */
  initStd?: number;
}

const LINEAR_KEYS = optionKeys<LinearOptions>({ seed: true, dtype: true, bias: true, initStd: true });

/**
 * y = x Wᵀ (+ b). The weight is stored (out, in) like PyTorch and Hugging
 * Face, so checkpoints port without transposing.
 * Shapes: x (..., in) -> (..., out).
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    const site = 'Linear';
    this.inFeatures = positiveInt(site, 'inFeatures', inFeatures);
    this.outFeatures = positiveInt(site, 'outFeatures', outFeatures);
    const { seed, dtype } = moduleOptions(site, options, LINEAR_KEYS);
    this.weight = this.parameter('weight', normalInit([outFeatures, inFeatures], options?.initStd ?? 0.02, seed, dtype));
    this.bias = options?.bias ? this.parameter('bias', constantInit([outFeatures], 0, dtype)) : null;
  }

  forward(x: Tensor): Tensor {
    expectTensor('Linear', 'x', x);
    const last = x.shape[x.rank - 1];
    if (x.rank < 1 || (typeof last === 'number' && last !== this.inFeatures)) {
      fail('Linear', `input expected shape [..., ${this.inFeatures}], got ${formatShape(x.shape)}`);
    }
    const w = transpose(this.weight.value); // (in, out)
    // matmul needs rank >= 2: a single vector goes through as one row.
    const y = x.rank === 1 ? reshape(matmul(reshape(x, [1, this.inFeatures]), w), [this.outFeatures]) : matmul(x, w);
    return this.bias ? add(y, this.bias.value) : y;
  }
}
