import type { LoweringTable } from './types.js';

/** Lowerings of the movement primitives. */
export const movement: LoweringTable<'reshape' | 'transpose' | 'expand' | 'slice' | 'pad' | 'concat'> = {
  // The inferred output shape has no -1; allowzero keeps a literal 0 a 0 rather than "copy".
  reshape: (ctx, node, [x]) => ctx.b.op('Reshape', [x, ctx.shape(node.shape)], { allowzero: { i: node.shape.includes(0) ? 1 : 0 } }),
  transpose: (ctx, node, [x]) => ctx.b.op('Transpose', [x], { perm: { ints: node.attrs.perm } }),
  expand: (ctx, node, [x]) => ctx.b.op('Expand', [x, ctx.shape(node.attrs.shape)]),
  slice: (ctx, node, [x]) => {
    const { starts, sizes } = node.attrs;
    const input = node.inputs[0].shape;
    // Only the axes that are cut: onnxruntime-web 1.30's WebGPU Slice gives a
    // wrongly shaped result after a Transpose when every axis is listed.
    const axes = starts.flatMap((start, i) => (start === 0 && sizes[i] === input[i] ? [] : [i]));
    if (axes.length === 0) return ctx.b.op('Identity', [x]);
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
    return ctx.b.op('Pad', [x, pads]);
  },
  concat: (ctx, node, inputs) => ctx.b.op('Concat', inputs, { axis: { i: node.attrs.axis } }),
};
