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

/** What each format and runtime calls a dtype, and how it is stored: the one table every mapping reads. */
export interface DTypeInfo<D extends DType = DType> {
  /** The typed array that stores it (bool as 0/1 bytes, int64 as bigint). */
  readonly array: {
    new (size: number): DTypeArrays[D];
    new (buffer: ArrayBuffer, byteOffset?: number, length?: number): DTypeArrays[D];
  };
  /** Bytes per element. */
  readonly bytes: number;
  /** ONNX TensorProto.DataType code. */
  readonly onnx: number;
  /** The element type name of ONNX Runtime's JavaScript Tensor. */
  readonly ort: D;
  /** The dtype code in safetensors headers. */
  readonly safetensors: 'F32' | 'F64' | 'I32' | 'I64' | 'BOOL';
}

/** Each dtype's storage and names (ONNX codes: FLOAT 1, DOUBLE 11, INT32 6, INT64 7, BOOL 9). */
export const DTYPE_INFO: { readonly [D in DType]: DTypeInfo<D> } = {
  float32: { array: Float32Array, bytes: 4, onnx: 1, ort: 'float32', safetensors: 'F32' },
  float64: { array: Float64Array, bytes: 8, onnx: 11, ort: 'float64', safetensors: 'F64' },
  int32: { array: Int32Array, bytes: 4, onnx: 6, ort: 'int32', safetensors: 'I32' },
  int64: { array: BigInt64Array, bytes: 8, onnx: 7, ort: 'int64', safetensors: 'I64' },
  bool: { array: Uint8Array, bytes: 1, onnx: 9, ort: 'bool', safetensors: 'BOOL' },
};

/** The largest typed array allocated here: 16 GiB, what V8 allows for one ArrayBuffer on 64-bit hosts. */
const MAX_ARRAY_BYTES = 2 ** 34;

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
  // Beyond this JavaScript cannot allocate one typed array (and the raw RangeError names nothing).
  if (!Number.isSafeInteger(size) || size < 0 || size * DTYPE_INFO[dtype].bytes > MAX_ARRAY_BYTES) {
    fail('allocate', `size expected at most ${Math.floor(MAX_ARRAY_BYTES / DTYPE_INFO[dtype].bytes)} ${dtype} elements (${MAX_ARRAY_BYTES / 2 ** 30} GiB), got ${size}`);
  }
  return new DTYPE_INFO[dtype].array(size);
}

/** The dtype a typed array stores, or an error naming `where`. */
export function dtypeOfArray(site: string, data: unknown): DType {
  const dtype = DTYPES.find((d) => data instanceof DTYPE_INFO[d].array);
  if (dtype) return dtype;
  return fail(site, `data expected Float32Array, Float64Array, Int32Array, BigInt64Array or Uint8Array, got ${describe(data)}`);
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
