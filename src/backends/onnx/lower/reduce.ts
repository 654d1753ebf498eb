import { ONNX_TYPE, type OnnxBuilder } from '../builder.js';
import type { FamilyMembers } from '../../../ir/primitives.js';
import type { Lowering, LoweringTable } from './types.js';

// With no axes ONNX reduces everything unless noop_with_empty_axes is set.
const reduceOp = (op: string): Lowering<'reduceSum' | 'reduceMax'> => (ctx, node, [x]) => ctx.b.op(op, [x, ctx.b.int64s(node.attrs.axes)], {
  keepdims: { i: node.attrs.keepDims ? 1 : 0 }, noop_with_empty_axes: { i: node.attrs.axes.length === 0 ? 1 : 0 },
});

/** Lowerings of the reductions. */
export const reduce: LoweringTable<FamilyMembers<'reduce'>> = {
  reduceSum: reduceOp('ReduceSum'),
  reduceMax: reduceOp('ReduceMax'),
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
 * argMax of a float32 tensor from ops every device has kernels for: the
 * first index holding the maximum, or the first NaN when there is one, as
 * the reference kernel chooses. Used on every device, not only where it is
 * needed (WebGPU cannot cast ArgMax's int64 output to int32): ONNX Runtime's
 * CPU ArgMax does not pick the first NaN (the conformance test's NaN case
 * fails with it). Indices are exact in float32 up to 2^24.
 */
function argMaxFloat32(b: OnnxBuilder, x: string, rank: number, axis: number, dim: number, keepDims: boolean): string {
  const axes = b.int64s([axis]);
  const keep = { keepdims: { i: 1 } };
  const float = (t: string): string => b.op('Cast', [t], { to: { i: ONNX_TYPE.float32 } });
  const one = b.scalar(1, 'float32');
  // 0/1 masks combined with arithmetic: a first form selecting with Where over
  // broadcast masks gave wrong indices on onnxruntime-web 1.30's WebGPU (the
  // faulty op was not isolated); this one passes there and everywhere else.
  const isNan = b.op('Not', [b.op('Equal', [x, x])]);
  const nan = float(isNan);
  const anyNan = b.op('ReduceMax', [nan, axes], keep);
  const clean = b.op('Where', [isNan, b.scalar(-Infinity, 'float32'), x]);
  const isMax = float(b.op('Equal', [clean, b.op('ReduceMax', [clean, axes], keep)]));
  // hit = NaN positions when the row has a NaN, else the positions of the maximum.
  const hit = b.op('Add', [b.op('Mul', [anyNan, nan]), b.op('Mul', [b.op('Sub', [one, anyNan]), isMax])]);
  // dim - i where hit, 0 elsewhere: the largest marks the first hit.
  const fromEnd = b.tensor(Float32Array.from({ length: dim }, (_, i) => dim - i), [dim, ...Array<number>(rank - axis - 1).fill(1)], 'float32');
  const best = b.op('ReduceMax', [b.op('Mul', [hit, fromEnd]), axes], { keepdims: { i: keepDims ? 1 : 0 } });
  return b.op('Cast', [b.op('Sub', [b.scalar(dim, 'float32'), best])], { to: { i: ONNX_TYPE.int32 } });
}
