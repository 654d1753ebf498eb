import { fail } from './errors.js';

/** Element types a tensor can hold. */
export type DType = 'float32' | 'float64' | 'int32' | 'int64' | 'bool';
/** The floating-point element types: the only ones with gradients. */
export type FloatDType = 'float32' | 'float64';

/** The typed array that stores each dtype (bool as 0/1 bytes, int64 as bigint). */
export interface DTypeArrays {
  float32: Float32Array;
  float64: Float64Array;
  int32: Int32Array;
  int64: BigInt64Array;
  bool: Uint8Array;
}
/** Any of the typed arrays that back a tensor. */
export type TypedArray = DTypeArrays[DType];

/** Every dtype, in promotion order for floats. */
export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'int64', 'bool'];

/** True for the dtypes that carry gradients. */
export function isFloat(dtype: DType): dtype is FloatDType {
  return dtype === 'float32' || dtype === 'float64';
}

/** True for the integer dtypes. */
export function isInt(dtype: DType): boolean {
  return dtype === 'int32' || dtype === 'int64';
}

/** True when `value` names a supported dtype. */
export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && (DTYPES as readonly string[]).includes(value);
}

/** A zero-filled array of `size` elements of `dtype`. */
export function allocate(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(size);
    case 'float64': return new Float64Array(size);
    case 'int32': return new Int32Array(size);
    case 'int64': return new BigInt64Array(size);
    case 'bool': return new Uint8Array(size);
  }
}

/** The dtype a typed array stores, or an error naming `where`. */
export function dtypeOfArray(where: string, data: unknown): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Uint8Array) return 'bool';
  return fail(where, `data expected Float32Array, Float64Array, Int32Array, BigInt64Array or Uint8Array, got ${describe(data)}`);
}

/** A short description of any value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name} of length ${(value as unknown as ArrayLike<unknown>).length}`;
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  if (typeof value === 'string') return JSON.stringify(value);
  return `${typeof value} ${String(value)}`;
}

/**
 * Reads element `i` of any backing array as a JS number (bigints are
 * converted, which is exact below 2^53).
 */
export function toNumbers(data: TypedArray): ArrayLike<number> {
  if (data instanceof BigInt64Array) return Float64Array.from(data, Number);
  return data;
}

/** Writes numbers into a new array of `dtype` (bool: non-zero is true). */
export function fromNumbers(dtype: DType, values: ArrayLike<number>): TypedArray {
  const out = allocate(dtype, values.length);
  if (out instanceof BigInt64Array) {
    for (let i = 0; i < values.length; i++) out[i] = Number.isFinite(values[i]) ? BigInt(Math.trunc(values[i])) : 0n;
  } else if (dtype === 'bool') {
    for (let i = 0; i < values.length; i++) out[i] = values[i] !== 0 ? 1 : 0;
  } else {
    out.set(values);
  }
  return out;
}
