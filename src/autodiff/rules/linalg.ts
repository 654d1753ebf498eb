import { matmul } from '../../tensor/ops/linalg.js';
import { swapAxes } from '../../tensor/ops/movement.js';
import { ifNeeded, type VjpTable } from '../rule-helpers.js';

/** VJP rules of linear algebra. */
export const linalg: VjpTable<'matmul'> = {
  // C = A B: dA = dC Bᵀ, dB = Aᵀ dC (broadcast batch dims are summed by the driver)
  matmul: (ct, [a, b], _out, _attrs, needs) => [
    ifNeeded(needs, 0, () => matmul(ct, swapAxes(b, -1, -2))),
    ifNeeded(needs, 1, () => matmul(swapAxes(a, -1, -2), ct)),
  ],
};
