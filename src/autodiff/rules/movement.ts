import { fail } from '../../core/errors.js';
import type { FamilyMembers } from '../../ir/primitives.js';
import { pad, reshape, slice, transpose } from '../../trace/ops/movement.js';
import { ifNeeded, type VjpTable } from '../rule-helpers.js';

/** VJP rules of the movement primitives: each is linear, so its VJP is its transpose. */
export const movement: VjpTable<FamilyMembers<'movement'>> = {
  reshape: (ct, [x]) => [reshape(ct, x.shape)],
  transpose: (ct, _i, _o, { perm }) => {
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [transpose(ct, inverse)];
  },
  // The driver sums a cotangent back to its input's shape, which is expand's transpose.
  expand: (ct) => [ct],
  slice: (ct, [x], _o, { starts }) => [pad(ct, starts, x.shape)],
  pad: (ct, [x], _o, { before }) => [slice(ct, before, x.shape)],
  concat: (ct, inputs, _o, { axis }, needs) => {
    let offset = 0;
    return inputs.map((x, i) => {
      const start = offset;
      const size = x.shape[axis];
      if (typeof size !== 'number') fail('concat', `a gradient expected static sizes along axis ${axis}, got '${size}'`);
      offset += size;
      return ifNeeded(needs, i, () => slice(ct, x.shape.map((_, d) => (d === axis ? start : 0)), x.shape));
    });
  },
};
