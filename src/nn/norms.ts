import { optionKeys } from '../core/options.js';
import { add } from '../trace/ops/elementwise.js';
import { fail, show } from '../core/errors.js';
import { layerNorm, rmsNorm } from '../functional/rms-norm.js';
import { formatShape } from '../core/shape.js';
import { tensor, type Tensor } from '../trace/tensor.js';
import { constantInit } from './init.js';
import { Module, moduleOptions, positiveInt, type ModuleOptions, type Parameter } from './module.js';
import { expectTensor } from '../trace/apply.js';

/** Options of {@link RmsNorm}. */
export interface RmsNormOptions extends ModuleOptions {
  /** Added to the mean square (default 1e-6, as LLaMA). */
  eps?: number;
  /**
   * Store the gain as an offset from 1, y = x̂ (1 + w) (Gemma's form), so
   * weight decay pulls it toward 1 rather than 0. Default false.
   */
  unitOffset?: boolean;
}

const RMSNORM_KEYS = optionKeys<RmsNormOptions>({ seed: true, dtype: true, eps: true, unitOffset: true });

function checkLast(site: string, x: Tensor, dim: number): void {
  expectTensor(site, 'x', x);
  const last = x.shape[x.rank - 1];
  if (x.rank < 1 || (typeof last === 'number' && last !== dim)) fail(site, `input expected shape [..., ${dim}], got ${formatShape(x.shape)}`);
}

function checkEps(site: string, eps: unknown): number {
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) fail(site, `eps expected a finite number > 0, got ${show(eps)}`);
  return eps;
}

/**
 * RMSNorm (Zhang & Sennrich 2019): y = x / sqrt(mean(x²) + eps) ⊙ g over the
 * last axis. Unlike LayerNorm it subtracts no mean and has no bias, which
 * makes it cheaper; LLaMA uses it before every sub-layer. Its backward keeps
 * only x and g (a custom VJP). Shapes: (..., dim) -> (..., dim).
 */
export class RmsNorm extends Module {
  readonly dim: number;
  readonly eps: number;
  readonly unitOffset: boolean;
  readonly weight: Parameter;

  constructor(dim: number, options: RmsNormOptions = {}) {
    super();
    this.dim = positiveInt('RmsNorm', 'dim', dim);
    this.eps = checkEps('RmsNorm', options?.eps ?? 1e-6);
    this.unitOffset = options?.unitOffset ?? false;
    const { dtype } = moduleOptions('RmsNorm', options, RMSNORM_KEYS);
    this.weight = this.parameter('weight', constantInit([dim], this.unitOffset ? 0 : 1, dtype));
  }

  forward(x: Tensor): Tensor {
    checkLast('RmsNorm', x, this.dim);
    const w = this.weight.value;
    return rmsNorm(x, this.unitOffset ? add(w, tensor(1, { dtype: w.dtype })) : w, this.eps);
  }
}

/** Options of {@link LayerNorm}. */
export interface LayerNormOptions extends ModuleOptions {
  /** Default 1e-5, as PyTorch. */
  eps?: number;
  /** Learned bias (default true). */
  bias?: boolean;
}

const LAYERNORM_KEYS = optionKeys<LayerNormOptions>({ seed: true, dtype: true, eps: true, bias: true });

/** LayerNorm (Ba et al. 2016) over the last axis: the baseline RMSNorm simplifies. */
export class LayerNorm extends Module {
  readonly dim: number;
  readonly eps: number;
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(dim: number, options: LayerNormOptions = {}) {
    super();
    this.dim = positiveInt('LayerNorm', 'dim', dim);
    this.eps = checkEps('LayerNorm', options?.eps ?? 1e-5);
    const { dtype } = moduleOptions('LayerNorm', options, LAYERNORM_KEYS);
    this.weight = this.parameter('weight', constantInit([dim], 1, dtype));
    this.bias = (options?.bias ?? true) ? this.parameter('bias', constantInit([dim], 0, dtype)) : null;
  }

  forward(x: Tensor): Tensor {
    checkLast('LayerNorm', x, this.dim);
    return layerNorm(x, this.weight.value, this.bias?.value ?? null, this.eps);
  }
}
