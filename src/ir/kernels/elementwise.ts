import { allocate, fromNumbers, isInt, toNumbers, type DType, type TypedArray } from '../../core/dtype.js';
import { sizeOf } from '../../core/shape.js';
import { broadcastIndex } from './index-maps.js';
import type { FamilyMembers, NoAttrs } from '../primitives.js';
import type { Buffer, KernelFn, KernelTable } from './types.js';

/** Writes computed doubles as `dtype`: float32 rounds once here, ints wrap like C. */
function store(values: Float64Array, dtype: DType): TypedArray {
  return dtype === 'float64' ? values : fromNumbers(dtype, values);
}

type Big = (a: bigint, b: bigint) => bigint;

/** int64 ops run on bigints, so values beyond 2^53 stay exact. */
function bigint(x: Buffer, f: (a: bigint) => bigint): BigInt64Array {
  return BigInt64Array.from(x.data as BigInt64Array, f);
}

function unary(f: (x: number) => number, big?: (a: bigint) => bigint): KernelFn<NoAttrs> {
  return ([x], _attrs, out) => {
    if (big && x.dtype === 'int64') return bigint(x, big);
    const a = toNumbers(x.data);
    const r = new Float64Array(a.length);
    for (let i = 0; i < a.length; i++) r[i] = f(a[i]);
    return store(r, out.dtype);
  };
}

/** Reads an input broadcast to the output shape as numbers. */
function operand(b: Buffer, shape: readonly number[]): { values: ArrayLike<number>; index: Int32Array | null } {
  return { values: toNumbers(b.data), index: broadcastIndex(b.shape, shape) };
}

function binary(f: (a: number, b: number) => number, intF?: (a: number, b: number) => number, big?: Big): KernelFn<NoAttrs> {
  return ([x, y], _attrs, out) => {
    const n = sizeOf(out.shape);
    if (big && x.dtype === 'int64') return bigBinary(big, x, y, out.shape, out.dtype);
    const a = operand(x, out.shape);
    const b = operand(y, out.shape);
    const g = intF && isInt(x.dtype) ? intF : f;
    const r = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      r[i] = g(a.values[a.index ? a.index[i] : i], b.values[b.index ? b.index[i] : i]);
    }
    return store(r, out.dtype);
  };
}

function bigBinary(f: Big, x: Buffer, y: Buffer, shape: readonly number[], dtype: DType): TypedArray {
  const n = sizeOf(shape);
  const a = x.data as BigInt64Array;
  const b = y.data as BigInt64Array;
  const ia = broadcastIndex(x.shape, shape);
  const ib = broadcastIndex(y.shape, shape);
  const r = new BigInt64Array(n);
  for (let i = 0; i < n; i++) r[i] = f(a[ia ? ia[i] : i], b[ib ? ib[i] : i]);
  // Comparisons come back as 0n / 1n.
  return dtype === 'bool' ? Uint8Array.from(r, Number) : r;
}

const bigMin: Big = (a, b) => (a < b ? a : b);
const bigMax: Big = (a, b) => (a > b ? a : b);

/** Reference kernels of the elementwise primitives. */
export const elementwise: KernelTable<FamilyMembers<'elementwise'>> = {
  neg: unary((x) => -x, (a) => -a),
  exp: unary(Math.exp),
  log: unary(Math.log),
  sin: unary(Math.sin),
  cos: unary(Math.cos),
  sqrt: unary(Math.sqrt),
  reciprocal: unary((x) => 1 / x),
  tanh: unary(Math.tanh),
  abs: unary(Math.abs, (a) => (a < 0n ? -a : a)),
  sign: unary(Math.sign, (a) => (a > 0n ? 1n : a < 0n ? -1n : 0n)),
  add: binary((a, b) => a + b, undefined, (a, b) => BigInt.asIntN(64, a + b)),
  sub: binary((a, b) => a - b, undefined, (a, b) => BigInt.asIntN(64, a - b)),
  // int32 products wrap modulo 2^32, as on every ONNX Runtime device.
  mul: binary((a, b) => a * b, (a, b) => Math.imul(a, b), (a, b) => BigInt.asIntN(64, a * b)),
  // Integer division truncates toward zero (ONNX Div); int64 division by zero gives 0.
  div: binary((a, b) => a / b, (a, b) => Math.trunc(a / b), (a, b) => (b === 0n ? 0n : a / b)),
  pow: binary(Math.pow),
  maximum: binary(Math.max, undefined, bigMax),
  minimum: binary(Math.min, undefined, bigMin),
  less: binary((a, b) => (a < b ? 1 : 0), undefined, (a, b) => (a < b ? 1n : 0n)),
  equal: binary((a, b) => (a === b ? 1 : 0), undefined, (a, b) => (a === b ? 1n : 0n)),
  where: ([cond, x, y], _attrs, out) => {
    const n = sizeOf(out.shape);
    const c = operand(cond, out.shape);
    const a = broadcastIndex(x.shape, out.shape);
    const b = broadcastIndex(y.shape, out.shape);
    const r = allocate(out.dtype, n) as Float64Array;
    const xs = x.data as Float64Array;
    const ys = y.data as Float64Array;
    for (let i = 0; i < n; i++) {
      r[i] = c.values[c.index ? c.index[i] : i] ? xs[a ? a[i] : i] : ys[b ? b[i] : i];
    }
    return r;
  },
  cast: ([x], _attrs, out) => {
    if (x.dtype === out.dtype) return x.data;
    if (x.dtype === 'int64' && out.dtype === 'int32') return Int32Array.from(x.data as BigInt64Array, (v) => Number(BigInt.asIntN(32, v)));
    return fromNumbers(out.dtype, toNumbers(x.data));
  },
  stopGradient: ([x]) => x.data,
};
