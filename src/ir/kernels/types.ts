import type { DType, TypedArray } from '../../core/dtype.js';
import type { Primitive, PrimitiveAttrs } from '../primitives.js';

/** A concrete tensor value: row-major data of a static shape. */
export interface Buffer {
  readonly data: TypedArray;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/**
 * Computes one primitive. Attributes arrive with symbolic dims resolved, and
 * `out` is the already-checked output shape and dtype.
 */
export type Kernel<P extends Primitive> = KernelFn<PrimitiveAttrs[P]>;

/** A kernel by its attribute type, so primitives with equal attributes share kernels. */
export type KernelFn<A> = (
  inputs: readonly Buffer[],
  attrs: A,
  out: { readonly shape: readonly number[]; readonly dtype: DType },
) => TypedArray;

/** One kernel per primitive of a family. */
export type KernelTable<P extends Primitive> = { [K in P]: Kernel<K> };

/** Element access shared by every typed array type. */
export type Elements = { [index: number]: number | bigint; readonly length: number };
