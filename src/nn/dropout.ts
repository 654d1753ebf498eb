import { fail, show } from '../core/errors.js';
import { add, cast, div, greater, minimum, mul, sub } from '../trace/ops/elementwise.js';
import { randomUniform } from '../trace/ops/random.js';
import { Tensor, tensor } from '../trace/tensor.js';
import { deriveSeed } from './init.js';
import { Module, moduleOptions, type ForwardContext, type ModuleOptions } from './module.js';
import { expectTensor } from '../trace/apply.js';
import { fusedComposite } from '../trace/composite.js';
import { isStatic, type Shape } from '../core/shape.js';
import { describe, type DType } from '../core/dtype.js';

/**
 * Inverted dropout whose rate is a runtime input: each element is zeroed
 * with probability q and the rest scaled by 1/(1 - q), where q is the rate p
 * (in the input's float type) rounded to the nearest multiple of 2^-16, at
 * most 1 − 2^-16: the mask compares 16-bit uniform numbers, two per
 * generator word, which halves the cost of drawing them, and the expectation
 * stays exactly the input. The rate, seed and
 * step come from the forward context, so a schedule such as early dropout
 * changes p every step without rebuilding the graph. The mask is a pure
 * function of (seed, step, this layer's salt, element index). The salt comes
 * from the constructor's seed: give each Dropout its own (the built-in
 * modules derive one per layer from their names), or two of them will draw
 * the same masks. The input is multiplied by the mask, as in PyTorch: a NaN
 * or infinity stays NaN even where its element is dropped.
 */
export class Dropout extends Module {
  /** Separates this layer's masks from every other layer's. */
  readonly salt: number;

  constructor(options: ModuleOptions = {}) {
    super();
    const { seed } = moduleOptions('Dropout', options);
    this.salt = deriveSeed(seed, 'dropout');
  }

  forward(x: Tensor, ctx?: ForwardContext): Tensor {
    expectTensor('Dropout', 'x', x);
    const p = ctx?.dropout;
    if (!this.training || p === undefined || p === 0) return x;
    if (typeof p === 'number' && !(p >= 0 && p < 1)) fail('Dropout', `rate expected a number in [0, 1), got ${show(p)}`);
    if (!ctx?.seed || !ctx.step) fail('Dropout', 'context expected seed and step (int32 scalars) alongside the rate, got none');
    if (!(ctx.seed instanceof Tensor) || !(ctx.step instanceof Tensor)) fail('Dropout', `context expected seed and step as int32 scalar tensors, got ${describe(ctx.seed)} and ${describe(ctx.step)}`);
    const rate = p instanceof Tensor ? cast(p, x.dtype) : tensor(p, { dtype: x.dtype });
    const { salt } = this;
    const draw = (seed: Tensor, step: Tensor, r: Tensor): Tensor => dropoutMask(seed, step, r, x.shape, salt, x.dtype);
    // At a static shape, one call node, so a backend that draws the numbers on the host may feed the finished mask
    // instead. (A symbolic dimension would be bound by none of the call's inputs.)
    const mask = isStatic(x.shape) ? fusedComposite('dropoutMask', draw, () => [null, null, null])(ctx.seed, ctx.step, rate) : draw(ctx.seed, ctx.step, rate);
    return mul(x, mask);
  }
}

/**
 * The mask of one dropout layer in one step: 1/(1 − q) where kept, 0 where
 * dropped (a 'dropoutMask' call's body, and the reference for a backend that
 * computes it otherwise, as lowering with randomInputs does on the host).
 */
function dropoutMask(seed: Tensor, step: Tensor, rate: Tensor, shape: Shape, salt: number, dtype: DType): Tensor {
  // The uniform numbers are multiples of 2^-16, so the rate is too: rounded to the nearest (at most 1 − 2^-16),
  // it is exactly the probability of a drop, and scaling by 1/(1 − q) keeps the expectation exact.
  const steps = cast(cast(add(mul(rate, 2 ** 16), 0.5), 'int32'), dtype); // floor(p · 2^16 + 1/2): p ≥ 0
  const q = minimum(mul(steps, 2 ** -16), 1 - 2 ** -16);
  const u = randomUniform(seed, step, shape, { salt, dtype: dtype === 'float64' ? 'float64' : 'float32', bits: 16 });
  // Kept where u ≥ q (probability 1 − q; always for q = 0). u and q are multiples of 2^-16, so u ≥ q is
  // u > q − 2^-17 (exact in either float type): one comparison with a scalar, no negation pass.
  const keep = greater(cast(u, dtype), sub(q, 2 ** -17));
  // x · mask, mask = 0 where dropped and 1/(1-q) elsewhere: a Mul is several times cheaper than a Where
  // on the CPU. Unlike a select, 0 · ±Infinity and 0 · NaN give NaN, so a non-finite input is never hidden.
  const one = tensor(1, { dtype });
  return mul(cast(keep, dtype), div(one, sub(one, q)));
}
