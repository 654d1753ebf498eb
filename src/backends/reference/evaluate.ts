/**
 * The reference backend defines what every primitive means: plain loops over
 * typed arrays in float32 and float64, written to be obviously right rather
 * than fast (matmul excepted: it is tiled, since it is the fallback for users
 * without ONNX Runtime). Every other backend is tested against it.
 */
import { infer } from '../../ir/infer/index.js';
import type { Primitive, PrimitiveAttrs } from '../../ir/primitives.js';
import { isStatic, resolveShape, type Bindings, type Shape } from '../../tensor/shape.js';
import { KERNELS } from './kernels/index.js';
import type { Buffer } from './kernels/types.js';

export type { Buffer } from './kernels/types.js';

/** Checks and computes one primitive on concrete buffers. */
export function evaluatePrimitive<P extends Primitive>(op: P, where: string, inputs: readonly Buffer[], attrs: PrimitiveAttrs[P]): Buffer {
  const meta = infer(op, where, inputs, attrs);
  // Concrete inputs and resolved attributes always give a static shape.
  const shape = meta.shape as readonly number[];
  const kernel = KERNELS[op] as (i: readonly Buffer[], a: PrimitiveAttrs[P], o: { shape: readonly number[]; dtype: Buffer['dtype'] }) => Buffer['data'];
  return { data: kernel(inputs, attrs, { shape, dtype: meta.dtype }), shape, dtype: meta.dtype };
}

/**
 * Substitutes bound sizes for the symbolic dims in a node's attributes.
 * Dimension lists and `iota.length` are the only attributes that hold names.
 */
export function resolveAttrs<P extends Primitive>(where: string, attrs: PrimitiveAttrs[P], bindings: Bindings): PrimitiveAttrs[P] {
  let changed = false;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(attrs)) {
    if (Array.isArray(value) && !isStatic(value as Shape)) {
      out[key] = resolveShape(where, value as Shape, bindings);
      changed = true;
    } else if (key === 'length' && typeof value === 'string') {
      out[key] = resolveShape(where, [value], bindings)[0];
      changed = true;
    } else {
      out[key] = value;
    }
  }
  return changed ? (out as PrimitiveAttrs[P]) : attrs;
}
