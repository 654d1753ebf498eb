import { ONNX_TYPE } from '../builder.js';
import type { FamilyMembers } from '../../../ir/primitives.js';
import { isStatic } from '../../../core/shape.js';
import type { LoweringTable } from './types.js';

// O dims before the axis, A the axis, J the index dims, I dims after the axis.

/** Lowerings of gather and its transpose. */
export const indexing: LoweringTable<FamilyMembers<'indexing'>> = {
  gather: (ctx, node, [x, indices]) => ctx.b.op('Gather', [x, indices], { axis: { i: node.attrs.axis } }),
  // ScatterND with reduction 'add' addresses the leading axes, so the
  // scattered axis is moved to the front of base (A, O, I) and the index
  // dims to the front of updates (J, O, I), then moved back.
  scatterAdd: (ctx, node, [base, indices, updates]) => {
    const { axis } = node.attrs;
    const rank = node.inputs[0].shape.length;
    const k = node.inputs[1].shape.length;
    const b = ctx.b;
    const baseShape = node.inputs[0].shape;
    const idxShape = node.inputs[1].shape;
    if (isStatic(baseShape) && isStatic(idxShape) && node.inputs[1].dtype === 'int32') {
      // Static shapes and int32 indices: ScatterElements on (O, A, I) with the indices expanded to
      // (O, J, I), all in int32, which WebGPU has kernels for (ScatterND needs int64 indices).
      const prod = (ds: readonly number[]): number => ds.reduce((p, d) => p * d, 1);
      const [O, A, I, J] = [prod(baseShape.slice(0, axis)), baseShape[axis], prod(baseShape.slice(axis + 1)), prod(idxShape)];
      const flat = b.op('Reshape', [indices, b.int64s([1, J, 1])]);
      const wrapped = b.op('Where', [b.op('Less', [flat, b.scalar(0, 'int32')]), b.op('Add', [flat, b.scalar(A, 'int32')]), flat]);
      const idx3 = b.op('Expand', [wrapped, b.int64s([O, J, I])]);
      const out = b.op('ScatterElements', [b.op('Reshape', [base, b.int64s([O, A, I])]), idx3, b.op('Reshape', [updates, b.int64s([O, J, I])])], {
        axis: { i: 1 }, reduction: { s: 'add' },
      });
      return b.op('Reshape', [out, b.int64s(baseShape)]);
    }
    const dim = node.inputs[0].shape[axis];
    // Negative indices count from the end, as in gather.
    const idx64 = b.op('Cast', [indices], { to: { i: ONNX_TYPE.int64 } });
    // Scalar 0 and size: [1]-shaped ones broadcast rank-0 indices up to rank 1, and ScatterND rejects the updates.
    const size = typeof dim === 'number' ? b.scalar(dim, 'int64') : b.op('Reshape', [ctx.dim(dim), b.int64s([])]);
    const wrapped = b.op('Where', [b.op('Less', [idx64, b.scalar(0, 'int64')]), b.op('Add', [idx64, size]), idx64]);
    const nd = b.op('Unsqueeze', [wrapped, b.int64s([-1])]); // (J..., 1)
    const rest = Array.from({ length: rank }, (_, i) => i).filter((i) => i !== axis);
    const basePerm = [axis, ...rest];
    const updPerm = [...Array.from({ length: k }, (_, j) => axis + j), ...Array.from({ length: axis }, (_, i) => i), ...Array.from({ length: rank - axis - 1 }, (_, i) => axis + k + i)];
    const identity = axis === 0;
    const baseT = identity ? base : b.op('Transpose', [base], { perm: { ints: basePerm } });
    const updT = identity ? updates : b.op('Transpose', [updates], { perm: { ints: updPerm } });
    const out = b.op('ScatterND', [baseT, nd, updT], { reduction: { s: 'add' } });
    const inverse = basePerm.map((_, i) => basePerm.indexOf(i));
    return identity ? out : b.op('Transpose', [out], { perm: { ints: inverse } });
  },
};
