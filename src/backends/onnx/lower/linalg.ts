import type { LoweringTable } from './types.js';
import type { FamilyMembers } from '../../../ir/primitives.js';
import { expandTo } from './movement.js';

/** Lowerings of linear algebra: ONNX MatMul broadcasts batch dimensions as ours does. */
export const linalg: LoweringTable<FamilyMembers<'linalg'>> = {
  matmul: (ctx, node, [a, b]) => {
    const [x, y] = node.inputs;
    const out = node.shape;
    // An inner dim of 0: zeros. ONNX Runtime's MatMul left all but the first batch uninitialised (garbage).
    if (x.shape[x.shape.length - 1] === 0 || y.shape[y.shape.length - 2] === 0) {
      return expandTo(ctx, ctx.b.scalar(0, node.dtype), out);
    }
    // A batch dim of 0 while a's are broadcast (fewer, or 1s): a expanded to the batch first. ONNX Runtime's
    // MatMul refused to broadcast a's 1 against b's 0 ("right operand cannot broadcast on dim 0"). A symbolic
    // batch that is 0 only at run time still meets that refusal: expanding there would put shape arithmetic on
    // the CPU under WebGPU for every broadcast matmul.
    const batch = out.slice(0, -2);
    const aBatch = x.shape.slice(0, -2);
    const broadcastA = aBatch.length !== batch.length || aBatch.some((d, i) => d !== batch[i]);
    if (broadcastA && batch.includes(0)) {
      return ctx.b.op('MatMul', [expandTo(ctx, a, [...batch, ...x.shape.slice(-2)]), b]);
    }
    return ctx.b.op('MatMul', [a, b]);
  },
};
