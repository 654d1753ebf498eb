import { ONNX_TYPE } from '../builder.js';
import type { Lowering, LoweringTable } from './types.js';

type Same = 'neg' | 'exp' | 'log' | 'sin' | 'cos' | 'sqrt' | 'reciprocal' | 'tanh' | 'abs'
  | 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'less' | 'equal' | 'where';

/** A primitive that is one ONNX op with the same inputs. */
const direct = (op: string): Lowering<Same> => (ctx, _node, inputs) => ctx.b.op(op, inputs);

/** Lowerings of the elementwise primitives. */
export const elementwise: LoweringTable<Same | 'sign' | 'cast' | 'stopGradient'> = {
  neg: direct('Neg'), exp: direct('Exp'), log: direct('Log'), sin: direct('Sin'), cos: direct('Cos'),
  sqrt: direct('Sqrt'), reciprocal: direct('Reciprocal'), tanh: direct('Tanh'), abs: direct('Abs'),
  add: direct('Add'), sub: direct('Sub'), mul: direct('Mul'), div: direct('Div'), pow: direct('Pow'),
  maximum: direct('Max'), minimum: direct('Min'), less: direct('Less'), equal: direct('Equal'),
  // ONNX Runtime's Where has no bool kernel (cpu, wasm): select bools as int32 and cast back.
  where: (ctx, node, [c, x, y]) => {
    if (node.dtype !== 'bool') return ctx.b.op('Where', [c, x, y]);
    const i32 = { to: { i: ONNX_TYPE.int32 } };
    return ctx.b.op('Cast', [ctx.b.op('Where', [c, ctx.b.op('Cast', [x], i32), ctx.b.op('Cast', [y], i32)])], { to: { i: ONNX_TYPE.bool } });
  },
  // ONNX Sign has no WebGPU kernel: (x > 0) - (x < 0), from comparisons every device has.
  sign: (ctx, node, [x]) => {
    const zero = ctx.b.scalar(0, node.dtype);
    const to = { to: { i: ONNX_TYPE[node.dtype] } };
    const pos = ctx.b.op('Cast', [ctx.b.op('Greater', [x, zero])], to);
    const neg = ctx.b.op('Cast', [ctx.b.op('Less', [x, zero])], to);
    return ctx.b.op('Sub', [pos, neg]);
  },
  cast: (ctx, node, [x]) => ctx.b.op('Cast', [x], { to: { i: ONNX_TYPE[node.attrs.dtype] } }),
  stopGradient: (ctx, _node, [x]) => ctx.b.op('Identity', [x]),
};
