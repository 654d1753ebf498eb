import { ONNX_TYPE } from '../builder.js';
import type { FamilyMembers } from '../../../ir/primitives.js';
import { isStatic, sizeOf, type Dim } from '../../../core/shape.js';
import { allowZero, type LowerContext, type LoweringTable } from './types.js';

// O dims before the axis, A the axis, J the index dims, I dims after the axis.

/** Lowerings of gather and its transpose. */
export const indexing: LoweringTable<FamilyMembers<'indexing'>> = {
  gather: (ctx, node, [x, indices]) => ctx.b.op('Gather', [x, indices], { axis: { i: node.attrs.axis } }),
  // ScatterElements with reduction 'add' on (O, A, I), the indices wrapped and expanded to (O, J, I): ONNX
  // Runtime's CPU kernel splits the work over the (O, I) positions and adds each position's updates in index
  // order, so the sums are the reference backend's, bit for bit. Not ScatterND: its 'add' splits the updates
  // themselves across threads, and rows that repeat lost updates (ONNX Runtime 1.30, CPU: whole updates went
  // missing at 8192 rows of 512). int32 indices stay int32, which WebGPU has kernels for.
  scatterAdd: (ctx, node, [base, indices, updates]) => {
    const { axis } = node.attrs;
    const b = ctx.b;
    const baseShape = node.inputs[0].shape;
    const index = node.inputs[1].dtype === 'int64' ? 'int64' : 'int32';
    const idxShape = node.inputs[1].shape;
    const A = baseShape[axis];
    const [before, after] = [baseShape.slice(0, axis), baseShape.slice(axis + 1)];
    // No updates, or an empty base: the base. (ONNX Runtime's optimizer drops an Expand of 1 to a literal 0 as a
    // no-op, which left the indices and updates of different shapes.)
    if ([...before, ...idxShape, ...after].includes(0)) return b.op('Identity', [base]);
    // A shape of three products: a literal where every dim is static (what WebGPU runs whole), else read at run time.
    const shape3 = (parts: readonly (readonly Dim[])[]): string => (parts.every(isStatic)
      ? b.int64s(parts.map(sizeOf))
      : b.op('Concat', parts.map((ds) => product(ctx, ds)), { axis: { i: 0 } }));
    const reshape = (x: string, shape: string, dims: readonly Dim[]): string => b.op('Reshape', [x, shape], { allowzero: allowZero(dims) });
    const spread = shape3([before, idxShape, after]); // (O, J, I)
    const flat = reshape(indices, shape3([[], idxShape, []]), idxShape); // (1, J, 1)
    // Negative indices count from the end, as in gather. The scalars have the indices' rank: see unitRanks in lower/elementwise.ts.
    const size = typeof A === 'number' ? b.scalar(A, index, 3) : b.op('Cast', [b.op('Reshape', [ctx.dim(A), b.int64s([1, 1, 1])])], { to: { i: ONNX_TYPE[index] } });
    const zero = b.scalar(0, index, 3);
    const once = b.op('Where', [b.op('Less', [flat, zero]), b.op('Add', [flat, size]), flat]);
    // One still negative was below −size: sent past the end, where ONNX Runtime refuses it (ScatterElements would
    // wrap it a second time and add into a row the reference backend refuses).
    const wrapped = b.op('Where', [b.op('Less', [once, zero]), size, once]);
    const out = b.op('ScatterElements', [
      reshape(base, shape3([before, [A], after]), baseShape),
      b.op('Expand', [wrapped, spread]),
      reshape(updates, spread, [...before, ...idxShape, ...after]),
    ], { axis: { i: 1 }, reduction: { s: 'add' } });
    return reshape(out, ctx.shape(baseShape), baseShape);
  },
};

/** An int64 [1] tensor holding the product of `dims` (1 for none), read at run time where they are symbolic. */
function product(ctx: LowerContext, dims: readonly Dim[]): string {
  if (isStatic(dims)) return ctx.b.int64s([sizeOf(dims)]);
  return dims.map((d) => ctx.dim(d)).reduce((p, d) => ctx.b.op('Mul', [p, d]));
}
