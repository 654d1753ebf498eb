import { matmul } from '../../trace/ops/linalg.js';
import type { FamilyMembers } from '../../ir/primitives.js';
import { reshape, swapAxes, transpose } from '../../trace/ops/movement.js';
import type { Dim } from '../../core/shape.js';
import type { Tensor } from '../../trace/tensor.js';
import { ifNeeded, type VjpTable } from '../rule-helpers.js';

/**
 * dB = Aᵀ dC for C = A B. Where B is shared across the last batch axes of C
 * (a weight applied to every token: B has size 1 there or lacks them), those
 * axes fold into the rows of A and dC, so one matrix product sums over them
 * instead of a batched product of B's shape per batch element followed by a
 * sum. Shared axes before those, and any other broadcast, are left for the
 * driver to sum.
 */
function rightGrad(ct: Tensor, a: Tensor, b: Tensor): Tensor {
  const batch = ct.shape.slice(0, -2);
  const lead = batch.length - (b.rank - 2);
  const shared = batch.map((d, i) => d !== 1 && (i < lead || b.shape[i - lead] === 1));
  // j: where the run of shared axes that ends at the matrix axes starts.
  let j = batch.length;
  while (j > 0 && shared[j - 1]) j--;
  // Folding needs the folded sizes known: a symbolic product has no name.
  const folded = [...batch.slice(j), ct.shape[ct.rank - 2]];
  if (j === batch.length || folded.some((d) => typeof d !== 'number')) return matmul(swapAxes(a, -1, -2), ct);
  const prefix = batch.slice(0, j);
  const [k, n] = b.shape.slice(-2);
  // A may lack leading axes of C (never the shared ones: C's size there comes from A).
  const count = (folded as number[]).reduce((p, q) => p * q, 1);
  const rows = (x: Tensor, cols: Dim): Tensor => reshape(x, [...x.shape.slice(0, j - (ct.rank - x.rank)), count, cols]);
  const product = matmul(columns(a, j - (ct.rank - a.rank), k, count), rows(ct, n));
  return j === 0 ? reshape(product, b.shape) : reshape(product, [...prefix, ...batch.slice(j).map(() => 1), k, n]);
}

/**
 * Aᵀ of A's rows: `x`'s axes from `kept` on (the folded ones, then k) as a
 * (k, count) matrix. With two or more folded axes (a weight applied to every
 * token of a batch), the folded axes move behind k in one transpose and
 * then merge: a copy that ONNX Runtime computes as such, where the transpose
 * of the merged rows would fuse into the product as a transposed operand.
 * Its CPU kernel packs a transposed operand again for every block of the
 * output, and for a weight's gradient (thousands of rows summed) that took
 * up to half again the product's time; the copy takes a tenth of it.
 * The same sums, in the same order.
 */
function columns(x: Tensor, kept: number, k: Dim, count: number): Tensor {
  const folded = x.rank - 1 - kept;
  const lead = x.shape.slice(0, kept);
  if (folded < 2) return swapAxes(reshape(x, [...lead, count, k]), -1, -2);
  const perm = [...lead.map((_, i) => i), x.rank - 1, ...Array.from({ length: folded }, (_, i) => kept + i)];
  return reshape(transpose(x, perm), [...lead, k, count]);
}

/** VJP rules of linear algebra. */
export const linalg: VjpTable<FamilyMembers<'linalg'>> = {
  // C = A B: dA = dC Bᵀ, dB = Aᵀ dC (broadcast batch dims are summed by the driver)
  matmul: (ct, [a, b], _out, _attrs, needs) => [
    ifNeeded(needs, 0, () => matmul(ct, swapAxes(b, -1, -2))),
    ifNeeded(needs, 1, () => rightGrad(ct, a, b)),
  ],
};
