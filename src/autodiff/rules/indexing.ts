import { expand } from '../../trace/ops/movement.js';
import type { FamilyMembers } from '../../ir/primitives.js';
import { gather, scatterAdd } from '../../trace/ops/indexing.js';
import { tensor } from '../../trace/tensor.js';
import { ifNeeded, type VjpTable } from '../rule-helpers.js';

/** VJP rules of gather and scatterAdd, each other's transpose. */
export const indexing: VjpTable<FamilyMembers<'indexing'>> = {
  gather: (ct, [x, indices], _o, { axis }) => [
    scatterAdd(expand(tensor(0, { dtype: x.dtype }), x.shape), indices, ct, axis),
    null,
  ],
  scatterAdd: (ct, [, indices], _o, { axis }, needs) => [
    ifNeeded(needs, 0, () => ct),
    null,
    ifNeeded(needs, 2, () => gather(ct, indices, axis)),
  ],
};
