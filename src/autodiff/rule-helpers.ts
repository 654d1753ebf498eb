import type { NoAttrs, Primitive, PrimitiveAttrs } from '../ir/primitives.js';
import type { Tensor } from '../trace/tensor.js';

/**
 * A VJP rule: given the output cotangent `ct`, the primal inputs and output
 * and the attributes, the cotangent of each input (null where none flows or
 * `needs` says it is not wanted). Gradients may keep the broadcast shape of
 * the output: the driver sums them back to each input's shape.
 */
export type VjpFn<A> = (
  ct: Tensor,
  inputs: readonly Tensor[],
  output: Tensor,
  attrs: A,
  needs: readonly boolean[],
) => readonly (Tensor | null)[];

/** The VJP rule of primitive `P`. */
export type VjpRule<P extends Primitive> = VjpFn<PrimitiveAttrs[P]>;

/** One VJP rule per primitive of a family. */
export type VjpTable<P extends Primitive> = { [K in P]: VjpRule<K> };

/** For ops with no gradient (comparisons, argMax, random, constants). */
export const noGradient: VjpFn<unknown> = (_ct, inputs) => inputs.map(() => null);

/**
 * For unary ops whose derivative is cheapest from the output (exp, sqrt,
 * tanh, reciprocal): the rule saves the activation output, not the input.
 */
export function usesOutput(dydx: (y: Tensor, ct: Tensor) => Tensor): VjpFn<NoAttrs> {
  return (ct, _inputs, output) => [dydx(output, ct)];
}

/** For unary ops whose derivative is a function of the input. */
export function usesInput(dydx: (x: Tensor, ct: Tensor) => Tensor): VjpFn<NoAttrs> {
  return (ct, inputs) => [dydx(inputs[0], ct)];
}

/** Calls `f` only for inputs that need a gradient. */
export function ifNeeded(needs: readonly boolean[], i: number, f: () => Tensor): Tensor | null {
  return needs[i] ? f() : null;
}
