import type { PrimitiveNode } from '../../../ir/graph.js';
import type { Primitive } from '../../../ir/primitives.js';
import type { Dim, Shape } from '../../../core/shape.js';
import type { OnnxBuilder } from '../builder.js';

/** What a lowering rule may ask of the driver. */
export interface LowerContext {
  readonly b: OnnxBuilder;
  /** An int64 [1] tensor holding the size of `d` (a literal, or read from the input that binds the name). */
  dim(d: Dim): string;
  /** An int64 1-D tensor holding a shape. */
  shape(dims: Shape): string;
  /** Whether the target has BitShift kernels (see LowerOptions.bitShift). */
  readonly bitShift: boolean;
}

/** Emits the ONNX nodes of one primitive node; returns the name of its output. */
export type Lowering<P extends Primitive> = (ctx: LowerContext, node: PrimitiveNode<P>, inputs: readonly string[]) => string;

/** One lowering per primitive of a family. */
export type LoweringTable<P extends Primitive> = { [K in P]: Lowering<K> };
