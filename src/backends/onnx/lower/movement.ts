import { ONNX_TYPE } from '../builder.js';
import type { FamilyMembers } from '../../../ir/primitives.js';
import type { DType } from '../../../core/dtype.js';
import { isStatic, shapesEqual, type Shape } from '../../../core/shape.js';
import { allowZero, type LowerContext, type LoweringTable } from './types.js';

/**
 * Emits an op on bool tensors through float32 (0 and 1, exactly) and back
 * with Greater, for a device without bool Transpose, Pad or Concat (WebGPU).
 */
function viaFloat(ctx: LowerContext, dtype: DType, inputs: readonly string[], emit: (xs: readonly string[]) => string): string {
  if (dtype !== 'bool' || ctx.caps.boolMovement) return emit(inputs);
  const floats = inputs.map((x) => ctx.b.op('Cast', [x], { to: { i: ONNX_TYPE.float32 } }));
  return ctx.b.op('Greater', [emit(floats), ctx.b.scalar(0, 'float32')]);
}

/** Lowerings of the movement primitives. */
export const movement: LoweringTable<FamilyMembers<'movement'>> = {
  // The inferred output shape has no -1; allowzero keeps a 0 (literal, or a symbolic dim at run time) a 0 rather
  // than "copy": a symbolic 0 read as "copy" failed, or silently kept the input's dim (unsqueeze of [B, 0]).
  // To its own shape (a weight gradient's product, already of the weight's shape): the input itself, no node.
  reshape: (ctx, node, [x]) => (shapesEqual(node.inputs[0].shape, node.shape) ? x : ctx.b.op('Reshape', [x, ctx.shape(node.shape)], { allowzero: allowZero(node.shape) })),
  transpose: (ctx, node, [x]) => {
    const from = node.inputs[0].shape;
    const longer = node.attrs.perm.filter((axis) => from[axis] !== 1);
    const inOrder = longer.every((axis, i) => i === 0 || longer[i - 1] < axis);
    // Moving only axes of size 1 leaves the elements in order, so nothing is copied: a Reshape to a constant
    // shape (every device reshapes bool), or with symbolic dims (whose shape a Reshape would compute on the
    // CPU) the axes of size 1 squeezed out and unsqueezed at their new places.
    if (inOrder && isStatic(node.shape)) return shapesEqual(from, node.shape) ? x : ctx.b.op('Reshape', [x, ctx.b.int64s(node.shape)], { allowzero: allowZero(node.shape) });
    if (inOrder && (node.dtype !== 'bool' || ctx.caps.boolMovement)) {
      const ones = (shape: Shape): number[] => shape.flatMap((d, i) => (d === 1 ? [i] : []));
      const drop = ones(from);
      // A transpose keeps the number of 1s: none to move is the identity.
      if (!drop.length) return ctx.b.op('Identity', [x]);
      return ctx.b.op('Unsqueeze', [ctx.b.op('Squeeze', [x, ctx.b.int64s(drop)]), ctx.b.int64s(ones(node.shape))]);
    }
    return viaFloat(ctx, node.dtype, [x], ([y]) => ctx.b.op('Transpose', [y], { perm: { ints: node.attrs.perm } }));
  },
  expand: (ctx, node, [x]) => expandTo(ctx, x, node.attrs.shape),
  slice: (ctx, node, [x]) => {
    const { starts, sizes } = node.attrs;
    const input = node.inputs[0].shape;
    // Only the axes that are cut: onnxruntime-web 1.30's WebGPU Slice gives a
    // wrongly shaped result after a Transpose when every axis is listed.
    const axes = starts.flatMap((start, i) => (start === 0 && sizes[i] === input[i] ? [] : [i]));
    if (axes.length === 0) return ctx.b.op('Identity', [x]);
    // Without int32 and bool Slice (WebGPU): static cuts of those become Gathers of constant indices, which it has.
    if (!ctx.caps.intSlice && (node.dtype === 'int32' || node.dtype === 'bool') && axes.every((i) => typeof sizes[i] === 'number')) {
      return axes.reduce((y, i) => ctx.b.op('Gather', [y, ctx.b.tensor(Int32Array.from({ length: sizes[i] as number }, (_, k) => starts[i] + k), [sizes[i] as number], 'int32')], { axis: { i } }), x);
    }
    // A symbolic size always starts at 0 (checked by inference), so its end is the size itself.
    const ends = axes.map((i) => (typeof sizes[i] === 'number' ? starts[i] + (sizes[i] as number) : sizes[i]));
    return ctx.b.op('Slice', [x, ctx.b.int64s(axes.map((i) => starts[i])), ctx.shape(ends), ctx.b.int64s(axes)]);
  },
  pad: (ctx, node, [x]) => {
    const { before, shape } = node.attrs;
    const input = node.inputs[0].shape;
    const after = shape.every((d, i) => typeof d === 'number' && typeof input[i] === 'number')
      ? ctx.b.int64s(shape.map((d, i) => (d as number) - before[i] - (input[i] as number)))
      : ctx.b.op('Sub', [ctx.b.op('Sub', [ctx.shape(shape), ctx.b.int64s(before)]), ctx.b.op('Shape', [x])]);
    const pads = ctx.b.op('Concat', [ctx.b.int64s(before), after], { axis: { i: 0 } });
    return viaFloat(ctx, node.dtype, [x], ([y]) => ctx.b.op('Pad', [y, pads]));
  },
  concat: (ctx, node, inputs) => viaFloat(ctx, node.dtype, inputs, (xs) => ctx.b.op('Concat', xs, { axis: { i: node.attrs.axis } })),
};

/**
 * ONNX Expand of `x` to `shape`. ONNX Runtime's optimizer drops an Expand
 * of a 1 to a literal 0 as a no-op (the result kept the 1), so such a shape
 * is expanded to 1 there and nothing is taken along those axes.
 */
export function expandTo(ctx: LowerContext, x: string, shape: Shape): string {
  if (!shape.includes(0)) return ctx.b.op('Expand', [x, ctx.shape(shape)]);
  const full = ctx.b.op('Expand', [x, ctx.shape(shape.map((d) => (d === 0 ? 1 : d)))]);
  return shape.reduce<string>((y, d, i) => (d === 0 ? ctx.b.op('Gather', [y, ctx.b.int64s([])], { axis: { i } }) : y), full);
}
