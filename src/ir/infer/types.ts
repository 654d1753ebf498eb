import type { DType } from '../../core/dtype.js';
import type { Shape } from '../../core/shape.js';
import type { Primitive, PrimitiveAttrs } from '../primitives.js';

/** What inference knows of a value: its shape and dtype. */
export interface Meta {
  readonly shape: Shape;
  readonly dtype: DType;
}

/**
 * Checks a primitive's inputs and attributes and gives its output's meta.
 * `where` names the public op for error messages.
 */
export type InferRule<P extends Primitive> = InferFn<PrimitiveAttrs[P]>;

/** An inference rule by its attribute type, so primitives with equal attributes share rules. */
export type InferFn<A> = (site: string, inputs: readonly Meta[], attrs: A) => Meta;

/** One inference rule per primitive of a family. */
export type InferTable<P extends Primitive> = { [K in P]: InferRule<K> };
