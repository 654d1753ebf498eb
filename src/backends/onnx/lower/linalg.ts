import type { LowerContext, LoweringTable } from './types.js';
import type { Shape } from '../../../core/shape.js';
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
    if (ctx.caps.splitK === true && node.dtype === 'float32' && splitsK(x.shape, y.shape)) return splitKProduct(ctx, a, b, x.shape[1] as number);
    return ctx.b.op('MatMul', [a, b]);
  },
};

/**
 * The least M and N a product needs for its K to be split: below, copying the slices cost more than it saved (the
 * 4×128 decoder's 128-wide weights ran slower split). It also keeps the bits (see splitKProduct): MLAS lengthens its
 * blocks along K only for a thread's share of N of 64 or less.
 */
const SPLIT_K_MIN = 256;
const SLICE_K = 512;

/** Whether a (M, K) × (K, N) product, both matrices, has K a multiple of 1024 and M, N ≥ SPLIT_K_MIN, all static. */
function splitsK(x: Shape, y: Shape): boolean {
  if (x.length !== 2 || y.length !== 2 || ![...x, ...y].every((d) => typeof d === 'number')) return false;
  const [m, k, n] = [x[0] as number, x[1] as number, y[1] as number];
  return k >= 1024 && k % 1024 === 0 && m >= SPLIT_K_MIN && n >= SPLIT_K_MIN;
}

/**
 * A (M, K) × (K, N) as Σ over 512-wide slices of K, added in order. ONNX
 * Runtime's CPU GEMM (MLAS) reads A in place at its row stride, and at a
 * stride of a multiple of 4 KB (K a multiple of 1024 float32s) A's rows
 * fall into the same cache sets: a weight's gradient (K = the batch's
 * tokens) ran 20–30 % slower than a product of the same size at K = 1000.
 * The slices have a 2 KB stride. ONNX Runtime fuses each MatMul and its Add
 * into a Gemm that accumulates into the sum so far, as MLAS accumulates its
 * blocks along K within one product: the same float32 sums in the same
 * order, so the same bits as one MatMul (checked on the CPU provider with
 * two threads; with so many threads that each one's share of N is 64 or
 * less, MLAS's blocks along K grow past 512 and the two may round apart).
 * float32 only: a float64 slice of 512 has the 4 KB stride again.
 */
function splitKProduct(ctx: LowerContext, a: string, b: string, k: number): string {
  let sum: string | undefined;
  for (let start = 0; start < k; start += SLICE_K) {
    const [from, to] = [ctx.b.int64s([start]), ctx.b.int64s([start + SLICE_K])];
    const part = ctx.b.op('MatMul', [ctx.b.op('Slice', [a, from, to, ctx.b.int64s([1])]), ctx.b.op('Slice', [b, from, to, ctx.b.int64s([0])])]);
    sum = sum === undefined ? part : ctx.b.op('Add', [sum, part]);
  }
  return sum!;
}
