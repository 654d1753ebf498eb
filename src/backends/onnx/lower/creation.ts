import { ONNX_TYPE } from '../builder.js';
import type { FamilyMembers } from '../../../ir/primitives.js';
import type { LoweringTable } from './types.js';

/** Lowerings of the constant-producing primitives. */
export const creation: LoweringTable<FamilyMembers<'creation'>> = {
  constant: (ctx, node) => ctx.b.tensor(node.attrs.value, node.attrs.shape, node.dtype),
  iota: (ctx, node) => {
    const limit = ctx.b.op('Reshape', [ctx.dim(node.attrs.length), ctx.b.int64s([])]); // a scalar
    const range = ctx.b.op('Range', [ctx.b.scalar(0, 'int64'), limit, ctx.b.scalar(1, 'int64')]);
    return node.dtype === 'int64' ? range : ctx.b.op('Cast', [range], { to: { i: ONNX_TYPE[node.dtype] } });
  },
};
