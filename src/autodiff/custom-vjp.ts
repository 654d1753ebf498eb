import { composite, type CustomVjp } from '../trace/composite.js';
import { fail } from '../core/errors.js';
import type { Tensor } from '../trace/tensor.js';

/**
 * Defines an op from Tensor ops with a hand-written backward. The rule gets
 * the output cotangent, the inputs and the forward output, so it can reuse
 * the output instead of recomputing from the inputs (the memory trick of
 * hand-written softmax / RMSNorm backward passes). It returns one cotangent
 * (or null) per input, written with Tensor ops.
 *
 * @example
 * ```ts
 * import { defineCustomVjp, exp, grad, mul, sum, tensor } from 'llm-tricks';
 *
 * const expish = defineCustomVjp('expish', (x) => exp(x), (ct, _inputs, y) => [mul(ct, y)]);
 * grad((x) => sum(expish(x)))(tensor([0]))[0].toArray(); // [1]
 * ```
 */
export function defineCustomVjp(name: string, forward: (...inputs: Tensor[]) => Tensor, vjp: CustomVjp): (...inputs: Tensor[]) => Tensor {
  if (typeof vjp !== 'function') fail('defineCustomVjp', `vjp expected a function, got ${typeof vjp}`);
  return composite(name, forward, vjp);
}
