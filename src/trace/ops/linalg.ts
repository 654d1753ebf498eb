import { apply } from '../apply.js';
import type { Tensor } from '../tensor.js';

/**
 * Batched matrix product: (..., M, K) @ (..., K, N) -> (..., M, N), batch
 * dimensions broadcasting. Both operands need rank >= 2.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  return apply('matmul', [a, b], {});
}
