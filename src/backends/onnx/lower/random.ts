import { GOLDEN, mix } from '../../../core/random-bits.js';
import type { FamilyMembers } from '../../../ir/primitives.js';
import { ONNX_TYPE } from '../builder.js';
import { isStatic, sizeOf, type Shape } from '../../../core/shape.js';
import { allowZero, type LowerContext, type LoweringTable } from './types.js';

// The reference kernel's generator (core/random-bits.ts) in uint32 ops:
// Mul and Add wrap modulo 2^32 and Div by 2^k is a right shift, identically
// on the CPU and WebGPU execution providers. The per-element shifts become
// BitShift where the target has it (LowerOptions.bitShift).

const UINT32 = 12;

/** floor(x / 2^k) on a uint32 tensor: a BitShift where the target has one, else a Div. */
function shiftRight(ctx: LowerContext, x: string, k: number): string {
  return ctx.caps.bitShift
    ? ctx.b.op('BitShift', [x, ctx.b.uint32(k)], { direction: { s: 'RIGHT' } })
    : ctx.b.op('Div', [x, ctx.b.uint32(2 ** k)]);
}

/** x + floor(x / 2^k): random-bits' add-shift step. */
function addShift(ctx: LowerContext, x: string, k: number): string {
  return ctx.b.op('Add', [x, shiftRight(ctx, x, k)]);
}

/** random-bits' mix() on a uint32 tensor. */
function mixNodes(ctx: LowerContext, h: string): string {
  h = ctx.b.op('Mul', [addShift(ctx, h, 16), ctx.b.uint32(0x85ebca6b)]);
  h = ctx.b.op('Mul', [addShift(ctx, h, 13), ctx.b.uint32(0xc2b2ae35)]);
  return addShift(ctx, h, 16);
}

/** The number of elements of a shape, when every dimension is a literal. */
const sizeIfStatic = (s: Shape): number | undefined => (isStatic(s) ? sizeOf(s) : undefined);

/** Lowering of the random primitive. */
export const random: LoweringTable<FamilyMembers<'random'>> = {
  randomUniform: (ctx, node, [seed, step]) => {
    const { b } = ctx;
    const { salt, shape } = node.attrs;
    const asU32 = (x: string): string => b.op('Cast', [x], { to: { i: UINT32 } });
    // key = mix(seed + mix(step + mix(salt + φ))) | 1; the salt is an attribute, so its term is a constant.
    let key = mixNodes(ctx, b.op('Add', [asU32(step), b.uint32(mix((salt + GOLDEN) >>> 0))]));
    key = mixNodes(ctx, b.op('Add', [asU32(seed), key]));
    // x | 1 = 2 floor(x / 2) + 1, without an Or kernel.
    key = b.op('Add', [b.op('Mul', [b.op('Div', [key, b.uint32(2)]), b.uint32(2)]), b.uint32(1)]);
    // Counters 1..W for the W generator words: one per number, or one per two numbers at 16 bits (N computed
    // at run time when the shape is symbolic).
    const count = b.op('ReduceProd', [ctx.shape(shape)], { keepdims: { i: 0 } });
    const words = node.attrs.bits === 16 ? b.op('Div', [b.op('Add', [count, b.scalar(1, 'int64')]), b.scalar(2, 'int64')]) : count;
    const counter = asU32(b.op('Range', [b.scalar(1, 'int64'), b.op('Add', [words, b.scalar(1, 'int64')]), b.scalar(1, 'int64')]));
    const y = b.op('Mul', [counter, key]);
    const z = b.op('Add', [y, key]);
    const swap = (x: string): string => b.op('Add', [b.op('Mul', [x, b.uint32(0x10000)]), shiftRight(ctx, x, 16)]);
    const square = (x: string, w: string): string => b.op('Add', [b.op('Mul', [x, x]), w]);
    let x = y;
    for (const w of [y, z, y]) x = swap(square(x, w));
    const toFloat = (u: string): string => b.op('Cast', [u], { to: { i: ONNX_TYPE[node.dtype] } });
    // allowzero: a 0 in the shape (literal, or a symbolic dim at run time) is a 0, not "copy that dimension".
    const shaped = (flat: string): string => b.op('Reshape', [flat, ctx.shape(shape)], { allowzero: allowZero(shape) });
    // The last round's square, before its swap of halves.
    const last = square(x, z);
    if (node.attrs.bits !== 16) return shaped(b.op('Mul', [toFloat(shiftRight(ctx, swap(last), 8)), b.scalar(2 ** -24, node.dtype)]));
    // Number 2k is the top half of word k and number 2k + 1 its bottom half: the halves side by side as
    // (W, 2), flattened, and cut to N when N is odd (or unknown until run time). The word's top half is the
    // bottom half of the last square and its bottom half that square's top, so the last swap is never made.
    const bottom = shiftRight(ctx, last, 16);
    const top = b.op('Sub', [last, b.op('Mul', [bottom, b.uint32(0x10000)])]);
    const column = (u: string): string => b.op('Unsqueeze', [toFloat(u), b.int64s([1])]);
    let bits = b.op('Reshape', [b.op('Concat', [column(top), column(bottom)], { axis: { i: 1 } }), b.int64s([-1])]);
    const n = sizeIfStatic(shape);
    if (n === undefined || n % 2) bits = b.op('Slice', [bits, b.int64s([0]), b.op('Reshape', [count, b.int64s([1])]), b.int64s([0])]);
    return shaped(b.op('Mul', [bits, b.scalar(2 ** -16, node.dtype)]));
  },
};
