import { ONNX_TYPE, type OnnxBuilder } from '../builder.js';
import type { Lowering, LoweringTable } from './types.js';

// With no axes ONNX reduces everything unless noop_with_empty_axes is set.
const reduce = (op: string): Lowering<'reduceSum' | 'reduceMax'> => (ctx, node, [x]) => ctx.b.op(op, [x, ctx.b.int64s(node.attrs.axes)], {
  keepdims: { i: node.attrs.keepDims ? 1 : 0 }, noop_with_empty_axes: { i: node.attrs.axes.length === 0 ? 1 : 0 },
});

/** Lowerings of the reductions. */
export const reduceLowering: LoweringTable<'reduceSum' | 'reduceMax' | 'argMax'> = {
  reduceSum: reduce('ReduceSum'),
  reduceMax: reduce('ReduceMax'),
  argMax: (ctx, node, [x]) => {
    const { axis, keepDims } = node.attrs;
    const { dtype, shape } = node.inputs[0];
    const dim = shape[axis];
    if (dtype === 'float32' && typeof dim === 'number' && dim <= 2 ** 24) return argMaxFloat32(ctx.b, x, shape.length, axis, dim, keepDims);
    // ONNX ArgMax gives int64; ours is int32.
    return ctx.b.op('Cast', [ctx.b.op('ArgMax', [x], { axis: { i: axis }, keepdims: { i: keepDims ? 1 : 0 } })], { to: { i: ONNX_TYPE.int32 } });
  },
};

/**
 * argMax of a float32 tensor from ops WebGPU has kernels for (its ArgMax
 * output is int64, which WebGPU cannot cast to int32): the first index
 * holding the maximum, or the first NaN when there is one, as the
 * reference kernel and ONNX ArgMax choose. Indices are exact in float32 up
 * to 2^24.
 */
function argMaxFloat32(b: OnnxBuilder, x: string, rank: number, axis: number, dim: number, keepDims: boolean): string {
  const axes = b.int64s([axis]);
  const keep = { keepdims: { i: 1 } };
  const float = (t: string): string => b.op('Cast', [t], { to: { i: ONNX_TYPE.float32 } });
  const zero = b.scalar(0, 'float32');
  // Selections between float 0/1 masks: WebGPU's Where has no bool operands.
  const isNan = b.op('Not', [b.op('Equal', [x, x])]);
  const nan = float(isNan);
  const anyNan = b.op('ReduceMax', [nan, axes], keep);
  const max = b.op('ReduceMax', [b.op('Where', [isNan, b.scalar(-Infinity, 'float32'), x]), axes], keep);
  const hit = b.op('Greater', [b.op('Where', [b.op('Greater', [anyNan, zero]), nan, float(b.op('Equal', [x, max]))]), zero]);
  // The index along `axis`, shaped to broadcast against x.
  const index = b.tensor(Float32Array.from({ length: dim }, (_, i) => i), [dim, ...Array<number>(rank - axis - 1).fill(1)], 'float32');
  const score = b.op('Where', [hit, b.op('Neg', [index]), b.scalar(-dim, 'float32')]);
  const first = b.op('Neg', [b.op('ReduceMax', [score, axes], { keepdims: { i: keepDims ? 1 : 0 } })]);
  return b.op('Cast', [first], { to: { i: ONNX_TYPE.int32 } });
}
