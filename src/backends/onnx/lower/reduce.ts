import { ONNX_TYPE } from '../builder.js';
import type { Lowering, LoweringTable } from './types.js';

// With no axes ONNX reduces everything unless noop_with_empty_axes is set.
const reduce = (op: string): Lowering<'reduceSum' | 'reduceMax'> => (ctx, node, [x]) => ctx.b.op(op, [x, ctx.b.int64s(node.attrs.axes)], {
  keepdims: { i: node.attrs.keepDims ? 1 : 0 }, noop_with_empty_axes: { i: node.attrs.axes.length === 0 ? 1 : 0 },
});

/** Lowerings of the reductions. */
export const reduceLowering: LoweringTable<'reduceSum' | 'reduceMax' | 'argMax'> = {
  reduceSum: reduce('ReduceSum'),
  reduceMax: reduce('ReduceMax'),
  // ONNX ArgMax gives int64; ours is int32.
  argMax: (ctx, node, [x]) => ctx.b.op('Cast', [ctx.b.op('ArgMax', [x], { axis: { i: node.attrs.axis }, keepdims: { i: node.attrs.keepDims ? 1 : 0 } })], {
    to: { i: ONNX_TYPE.int32 },
  }),
};
