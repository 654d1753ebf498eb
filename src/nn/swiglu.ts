import { optionKeys } from '../core/options.js';
import { swiglu } from '../functional/activations.js';
import type { Tensor } from '../trace/tensor.js';
import { deriveSeed } from './init.js';
import { Linear } from './linear.js';
import { Module, moduleOptions, positiveInt, type ModuleOptions } from './module.js';
import { expectTensor } from '../trace/apply.js';

/** Options of {@link SwiGlu}. */
export interface SwiGluOptions extends ModuleOptions {
  /** Hidden width (default 8/3 · dim rounded up to a multiple of 8, which keeps the parameter count of a 4·dim GELU MLP). */
  hidden?: number;
}

const SWIGLU_KEYS = optionKeys<SwiGluOptions>({ seed: true, dtype: true, hidden: true });

/** The default hidden width of a SwiGLU MLP for model width `dim`. */
export function swigluHidden(dim: number): number {
  return Math.ceil((8 * positiveInt('swigluHidden', 'dim', dim)) / 3 / 8) * 8;
}

/**
 * The LLaMA MLP (Shazeer 2020): down(silu(gate(x)) ⊙ up(x)), three bias-free
 * projections named gate_proj, up_proj, down_proj as in Hugging Face.
 * Shapes: (..., dim) -> (..., dim).
 */
export class SwiGlu extends Module {
  readonly dim: number;
  readonly hidden: number;
  readonly gateProj: Linear;
  readonly upProj: Linear;
  readonly downProj: Linear;

  constructor(dim: number, options: SwiGluOptions = {}) {
    super();
    this.dim = positiveInt('SwiGlu', 'dim', dim);
    this.hidden = positiveInt('SwiGlu', 'hidden', options?.hidden ?? swigluHidden(dim));
    const { seed, dtype } = moduleOptions('SwiGlu', options, SWIGLU_KEYS);
    this.gateProj = this.module('gate_proj', new Linear(dim, this.hidden, { seed: deriveSeed(seed, 'gate_proj'), dtype }));
    this.upProj = this.module('up_proj', new Linear(dim, this.hidden, { seed: deriveSeed(seed, 'up_proj'), dtype }));
    this.downProj = this.module('down_proj', new Linear(this.hidden, dim, { seed: deriveSeed(seed, 'down_proj'), dtype }));
  }

  forward(x: Tensor): Tensor {
    expectTensor('SwiGlu', 'x', x);
    return this.downProj.forward(swiglu(this.gateProj.forward(x), this.upProj.forward(x)));
  }
}
