import { apply } from '../apply.js';
import type { DType } from '../../core/dtype.js';
import type { Dim } from '../../core/shape.js';
import type { Tensor } from '../tensor.js';

/** [0, 1, ..., length - 1]; `length` may be a symbolic dim inside a trace. */
export function iota(length: Dim, dtype: DType = 'int32'): Tensor {
  return apply('iota', [], { length, dtype });
}
