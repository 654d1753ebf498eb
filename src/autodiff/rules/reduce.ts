import { cast, div, equal, mul } from '../../trace/ops/elementwise.js';
import type { FamilyMembers } from '../../ir/primitives.js';
import { expand, reshape } from '../../trace/ops/movement.js';
import { sum } from '../../trace/ops/reduce.js';
import type { Tensor } from '../../trace/tensor.js';
import { noGradient, type VjpTable } from '../rule-helpers.js';

/** The reduced value viewed with its reduced axes kept as size 1, ready to broadcast back. */
function keepDims(t: Tensor, x: Tensor, axes: readonly number[], kept: boolean): Tensor {
  return kept ? t : reshape(t, x.shape.map((d, i) => (axes.includes(i) ? 1 : d)));
}

/** VJP rules of the reductions. */
export const reduce: VjpTable<FamilyMembers<'reduce'>> = {
  reduceSum: (ct, [x], _out, { axes, keepDims: kept }) => [expand(keepDims(ct, x, axes, kept), x.shape)],
  // Ties share the cotangent equally (JAX's choice), so the rule is symmetric.
  reduceMax: (ct, [x], out, { axes, keepDims: kept }) => {
    const hit = cast(equal(x, keepDims(out, x, axes, kept)), x.dtype); // 1 at each maximum
    const count = sum(hit, axes, { keepDims: true });
    return [mul(div(hit, count), keepDims(ct, x, axes, kept))];
  },
  argMax: noGradient,
};
