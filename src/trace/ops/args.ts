import { expectTensor } from '../apply.js';
import { fail, show } from '../../core/errors.js';
import { describe, isInt, type DType } from '../../core/dtype.js';
import { normalizeAxis } from '../../core/shape.js';
import { Tensor, tensor } from '../tensor.js';

/** A tensor, or a plain number taken as a scalar of the other operand's dtype. */
export type TensorLike = Tensor | number;

/** Converts the operands of a binary op: numbers become scalars of the tensor operand's dtype. */
export function operands(site: string, a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  const dtype: DType = a instanceof Tensor ? a.dtype : b instanceof Tensor ? b.dtype : 'float32';
  return [toTensor(site, 'a', a, dtype), toTensor(site, 'b', b, dtype)];
}

/** A tensor from a TensorLike, naming the op and argument when it is neither. */
export function toTensor(site: string, arg: string, x: TensorLike, dtype: DType): Tensor {
  if (typeof x === 'number') {
    // A silent truncation (add(int32, 0.5) adding 0) would surprise: say so instead.
    if (isInt(dtype) && !Number.isInteger(x)) fail(site, `${arg} expected an integer (the other operand is ${dtype}), got ${x}; cast to a float dtype first`);
    return tensor(x, { dtype });
  }
  return expectTensor(site, arg, x);
}

/**
 * Normalises `axis` (one, several, or all when undefined) to ascending,
 * unique, non-negative axes of a rank-`rank` tensor.
 */
export function axesOf(site: string, axis: number | readonly number[] | undefined, rank: number): number[] {
  if (axis === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axis === 'number' ? [axis] : axis;
  if (!Array.isArray(list)) fail(site, `axis expected a number or an array of numbers, got ${describe(axis)}`);
  const axes = list.map((a) => normalizeAxis(site, a, rank));
  if (new Set(axes).size !== axes.length) fail(site, `axis expected distinct axes, got ${show(list)}`);
  return axes.sort((p, q) => p - q);
}
