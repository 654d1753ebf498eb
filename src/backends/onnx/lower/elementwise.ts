import { isFloat, type DType } from '../../../core/dtype.js';
import type { FamilyMembers } from '../../../ir/primitives.js';
import { ONNX_TYPE } from '../builder.js';
import type { PrimitiveNode } from '../../../ir/graph.js';
import type { Lowering, LoweringTable, LowerContext } from './types.js';

type Same = 'neg' | 'exp' | 'log' | 'sin' | 'cos' | 'sqrt' | 'reciprocal' | 'tanh' | 'abs'
  | 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'less' | 'equal' | 'where';

/** A primitive that is one ONNX op with the same inputs. */
const direct = (op: string): Lowering<Same> => (ctx, node, inputs) => ctx.b.op(op, unitRanks(ctx, node, inputs));

/**
 * The inputs, with each single element of lower rank than the output given
 * the output's rank where the output's last dim is 1: ONNX Runtime's CPU
 * kernels (also in WebAssembly) broadcast a scalar over a (…, n, 1) tensor
 * one element at a time, some 15 ns each (a Div of (16, 64, 1) by a scalar
 * took longer than one of (16, 64, 128)), and the same scalar shaped
 * (1, 1, 1) runs as one span. The same values. A computed scalar is
 * reshaped only where it is float or int32: WebGPU's Reshape has no bool
 * or int64 kernel (constants of any type are copied, not reshaped).
 */
function unitRanks(ctx: LowerContext, node: PrimitiveNode, inputs: readonly string[]): readonly string[] {
  const out = node.shape;
  if (out.length < 2 || out[out.length - 1] !== 1) return inputs;
  return inputs.map((x, i) => {
    const { shape, dtype } = node.inputs[i];
    if (shape.length >= out.length || !shape.every((d) => d === 1)) return x;
    return ctx.b.unit(x, out.length, RESHAPED.has(dtype));
  });
}

const RESHAPED: ReadonlySet<DType> = new Set(['float32', 'float64', 'int32']);

/** Lowerings of the elementwise primitives. */
export const elementwise: LoweringTable<FamilyMembers<'elementwise'>> = {
  // Without int32 Neg and Abs (WebGPU): 0 - x, and a Where on x < 0 (same results, -2^31 wrapping as Neg does).
  neg: (ctx, node, [x]) => (node.dtype === 'int32' && !ctx.caps.int32NegAbs ? ctx.b.op('Sub', [ctx.b.scalar(0, 'int32'), x]) : ctx.b.op('Neg', [x])), exp: direct('Exp'), log: direct('Log'), sin: direct('Sin'), cos: direct('Cos'),
  sqrt: direct('Sqrt'), reciprocal: direct('Reciprocal'), tanh: direct('Tanh'),
  abs: (ctx, node, [x]) => {
    if (node.dtype !== 'int32' || ctx.caps.int32NegAbs) return ctx.b.op('Abs', [x]);
    const zero = ctx.b.scalar(0, 'int32');
    return ctx.b.op('Where', [ctx.b.op('Less', [x, zero]), ctx.b.op('Sub', [zero, x]), x]);
  },
  add: direct('Add'), sub: direct('Sub'), mul: direct('Mul'), div: direct('Div'), pow: direct('Pow'),
  maximum: direct('Max'), minimum: direct('Min'), less: direct('Less'),
  // Without a bool Equal (WebGPU): compare bools as float32 0 and 1.
  equal: (ctx, node, inputs) => ctx.b.op('Equal', unitRanks(ctx, node, node.inputs[0].dtype === 'bool' && !ctx.caps.boolEqual ? inputs.map((x) => ctx.b.op('Cast', [x], { to: { i: ONNX_TYPE.float32 } })) : inputs)),
  // No ONNX Runtime device has a bool Where kernel (cpu, wasm, webgpu): select bools as int32 and cast back.
  where: (ctx, node, [c, x, y]) => {
    if (node.dtype !== 'bool') return ctx.b.op('Where', unitRanks(ctx, node, [c, x, y]));
    const i32 = { to: { i: ONNX_TYPE.int32 } };
    return ctx.b.op('Cast', [ctx.b.op('Where', [c, ctx.b.op('Cast', [x], i32), ctx.b.op('Cast', [y], i32)])], { to: { i: ONNX_TYPE.bool } });
  },
  // Without Sign (WebGPU): (x > 0) - (x < 0), from comparisons every device has, and NaN where x is NaN.
  sign: (ctx, node, [x]) => {
    if (ctx.caps.sign) return ctx.b.op('Sign', [x]);
    const zero = ctx.b.scalar(0, node.dtype);
    const to = { to: { i: ONNX_TYPE[node.dtype] } };
    const pos = ctx.b.op('Cast', [ctx.b.op('Greater', [x, zero])], to);
    const neg = ctx.b.op('Cast', [ctx.b.op('Less', [x, zero])], to);
    const signs = ctx.b.op('Sub', [pos, neg]);
    // Both comparisons are false for NaN, which must stay NaN (as Sign keeps it), not become 0.
    return isFloat(node.dtype) ? ctx.b.op('Where', [ctx.b.op('Equal', [x, x]), signs, x]) : signs;
  },
  cast: (ctx, node, [x]) => ctx.b.op('Cast', [x], { to: { i: ONNX_TYPE[node.attrs.dtype] } }),
  stopGradient: (ctx, _node, [x]) => ctx.b.op('Identity', [x]),
};
