import type { PrimitiveNode } from '../../../ir/graph.js';
import type { Primitive } from '../../../ir/primitives.js';
import type { Dim, Shape } from '../../../core/shape.js';
import type { Attr, OnnxBuilder } from '../builder.js';

/** What a lowering rule may ask of the driver. */
export interface LowerContext {
  readonly b: OnnxBuilder;
  /** An int64 [1] tensor holding the size of `d` (a literal, or read from the input that binds the name). */
  dim(d: Dim): string;
  /** An int64 1-D tensor holding a shape. */
  shape(dims: Shape): string;
  /** The target's kernels; a lowering works around each one it lacks. */
  readonly caps: LoweringCaps;
}

/**
 * Kernels an ONNX Runtime device may lack. Each lowering that depends on one
 * emits the op directly when the cap is true and a workaround from ops every
 * device has when it is false; the workarounds give the same values.
 */
export interface LoweringCaps {
  /** uint32 BitShift: the random generator shifts (else divides by powers of two). */
  readonly bitShift: boolean;
  /** int32 Neg and Abs (else 0 − x, and a Where on x < 0). */
  readonly int32NegAbs: boolean;
  /** Sign (else (x > 0) − (x < 0)). */
  readonly sign: boolean;
  /** Equal of bools (else compared as float32 0 and 1). */
  readonly boolEqual: boolean;
  /** Transpose, Pad and Concat of bools (else through float32 and back). */
  readonly boolMovement: boolean;
  /** Slice of int32 and bool (else static cuts become Gathers of constant indices). */
  readonly intSlice: boolean;
  /**
   * Not a missing kernel but a faster form on ONNX Runtime's CPU: a float32
   * product of two matrices whose inner dimension K is a multiple of 1024
   * and whose other two are at least 256 runs as products of 512-wide
   * slices of K, each added to the last (see lower/linalg.ts). Default false.
   */
  readonly splitK?: boolean;
}

/** Every kernel (onnxruntime's CPU, also in WebAssembly): no workaround. */
export const FULL_CAPS: LoweringCaps = {
  bitShift: true, int32NegAbs: true, sign: true, boolEqual: true, boolMovement: true, intSlice: true,
};

/**
 * Every workaround: what WebGPU needs, and what a file for an unknown host
 * (ONNX export) uses, so it runs wherever ONNX Runtime does.
 */
export const PORTABLE_CAPS: LoweringCaps = {
  bitShift: false, int32NegAbs: false, sign: false, boolEqual: false, boolMovement: false, intSlice: false,
};

/** Emits the ONNX nodes of one primitive node; returns the name of its output. */
export type Lowering<P extends Primitive> = (ctx: LowerContext, node: PrimitiveNode<P>, inputs: readonly string[]) => string;

/** One lowering per primitive of a family. */
export type LoweringTable<P extends Primitive> = { [K in P]: Lowering<K> };

/**
 * Reshape's allowzero for a target of `dims`: 1 where a dim is 0 or symbolic
 * (0 at run time, maybe), else ONNX reads a 0 as "copy the input's dim at
 * this index"; 0 for static shapes without a 0 (the attribute's default).
 */
export function allowZero(dims: readonly Dim[]): Attr {
  return { i: dims.some((d) => d === 0 || typeof d === 'string') ? 1 : 0 };
}
