import { checkOptions } from '../../core/options.js';
import { apply } from '../apply.js';
import type { FloatDType } from '../../core/dtype.js';
import type { Shape } from '../../core/shape.js';
import type { Tensor } from '../tensor.js';

/** Options of {@link randomUniform}. */
export interface RandomOptions {
  /** Default float32. */
  dtype?: FloatDType;
  /** Separates several random ops fed the same seed and step (default 0). */
  salt?: number;
  /**
   * Random bits per number (default 24): 16 draws two numbers from each word
   * of the generator, half the work, and every number is a multiple of
   * 2^-16 (what the Dropout layer uses; it rounds its rate to a multiple of
   * 2^-16 to match).
   */
  bits?: 16 | 24;
}

/**
 * Uniform numbers in [0, 1) that are a pure function of (seed, step, salt,
 * element index): the same inputs give the same numbers on every backend, and
 * a new step gives new numbers. `seed` and `step` are int32 scalars, usually
 * graph inputs, so one compiled graph serves every step.
 */
export function randomUniform(seed: Tensor, step: Tensor, shape: Shape, options?: RandomOptions): Tensor {
  checkOptions('randomUniform', options, ['dtype', 'salt', 'bits']);
  return apply('randomUniform', [seed, step], { shape, dtype: options?.dtype ?? 'float32', salt: options?.salt ?? 0, bits: options?.bits ?? 24 });
}
