import { checkOptions } from '../core/options.js';
import type { Node } from '../ir/graph.js';
import { fail, show } from '../core/errors.js';
import { allocate, describe, isInt, dtypeOfArray, fromNumbers, isDType, toNumbers, type DType, type TypedArray } from '../core/dtype.js';
import { checkShape, formatShape, isStatic, sizeOf, stridesOf, type Shape } from '../core/shape.js';
import type { TraceState } from './trace-state.js';

/** Nested arrays of numbers or booleans, as `toArray()` returns them. */
export type NestedArray = number | boolean | bigint | NestedArray[];

/** What {@link tensor} takes: numbers, booleans or bigints, nested in arrays whose innermost rows may be typed arrays. */
export type NestedValues = number | boolean | bigint | TypedArray | readonly NestedValues[];

/**
 * An immutable n-dimensional array. Outside a trace it holds data (computed
 * eagerly on the reference backend); inside `trace(fn)` it is a symbolic
 * value of the graph being recorded. Ops are free functions (`add(a, b)`),
 * and code written with them runs either way.
 */
export class Tensor {
  readonly shape: Shape;
  readonly dtype: DType;
  /** @internal Row-major data of an eager tensor. */
  readonly _data: TypedArray | undefined;
  /** @internal The node of a traced tensor. */
  readonly _node: Node | undefined;
  /** @internal The trace that owns `_node`. */
  readonly _trace: TraceState | undefined;

  /** @internal Use `tensor(...)` or the ops to make tensors. */
  constructor(shape: Shape, dtype: DType, data?: TypedArray, node?: Node, trace?: TraceState) {
    if (!Array.isArray(shape) || shape.some((d) => (typeof d === 'number' ? !Number.isSafeInteger(d) || d < 0 : typeof d !== 'string'))) {
      fail('Tensor', `shape expected a list of non-negative integers or dimension names, got ${show(shape)}`);
    }
    if (!isDType(dtype)) fail('Tensor', `dtype expected float32, float64, int32, int64 or bool, got ${show(dtype)}`);
    // No path may build a tensor whose data disagrees with its shape (a decoder once did, silently).
    if (data !== undefined && isStatic(shape) && data.length !== sizeOf(shape as number[])) {
      fail('Tensor', `data expected ${sizeOf(shape as number[])} elements for shape ${formatShape(shape)}, got ${data.length}`);
    }
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this._data = data;
    this._node = node;
    this._trace = trace;
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** Number of elements (NaN while a dimension is symbolic). */
  get size(): number {
    return this.shape.every((d) => typeof d === 'number') ? sizeOf(this.shape as number[]) : NaN;
  }

  /** True inside a trace, where the tensor has no data yet. */
  get isTraced(): boolean {
    return this._node !== undefined;
  }

  /** A copy of the row-major data. */
  data(): TypedArray {
    return this.eager('data').slice();
  }

  /** The data as nested arrays (booleans for bool, numbers otherwise; int64 as bigint). */
  toArray(): NestedArray {
    const data = this.eager('toArray');
    const shape = this.shape as number[];
    const strides = stridesOf(shape);
    const read = (i: number): NestedArray => (this.dtype === 'bool' ? data[i] !== 0 : data[i]);
    const build = (axis: number, offset: number): NestedArray =>
      axis === shape.length ? read(offset) : Array.from({ length: shape[axis] }, (_, i) => build(axis + 1, offset + i * strides[axis]));
    return build(0, 0);
  }

  /** The single element of a one-element tensor, as a number. */
  item(): number {
    const data = this.eager('item');
    if (data.length !== 1) fail('Tensor.item', `expected a tensor of one element, got shape ${formatShape(this.shape)}`);
    return Number(data[0]);
  }

  /** `Tensor(float32[2, 3])`, plus the values of small eager tensors. */
  toString(): string {
    const head = `Tensor(${this.dtype}${formatShape(this.shape)}`;
    if (!this._data) return `${head}, traced)`;
    return this._data.length <= 64 ? `${head}, ${JSON.stringify(this.toArray(), (_k, v) => (typeof v === 'bigint' ? String(v) : v))})` : `${head})`;
  }

  private eager(site: string): TypedArray {
    if (!this._data) fail(`Tensor.${site}`, 'expected an eager tensor, got a traced one (it has no data until the compiled graph runs)');
    return this._data;
  }
}

/** Options of {@link tensor}. */
export interface TensorOptions {
  /** Defaults to the nesting of `values`, or `[length]` for a flat list. */
  shape?: readonly number[];
  /** Defaults to the typed array's dtype, or float32 for numbers, int64 for bigints and bool for booleans. */
  dtype?: DType;
}

/**
 * Makes an eager tensor from nested arrays, a flat list plus a shape, or a
 * typed array (copied).
 *
 * @example
 * ```ts
 * import { tensor } from 'llm-tricks';
 *
 * const x = tensor([[1, 2], [3, 4]]);            // float32 [2, 2]
 * const i = tensor([0, 2], { dtype: 'int32' });  // int32 [2]
 * ```
 */
export function tensor(values: NestedValues, options?: TensorOptions): Tensor {
  const site = 'tensor';
  options ??= {};
  checkOptions(site, options, ['shape', 'dtype']);
  if (options.dtype !== undefined && !isDType(options.dtype)) {
    fail(site, `dtype expected float32, float64, int32, int64 or bool, got ${describe(options.dtype)}`);
  }
  let flat: ArrayLike<number>;
  let nested: number[] = [];
  let dtype = options.dtype;
  let bigints: bigint[] | null = null;
  if (ArrayBuffer.isView(values)) {
    const from = dtypeOfArray(site, values);
    dtype ??= from;
    flat = toNumbers(values as TypedArray);
    nested = [flat.length];
  } else {
    // Rows may be typed arrays (tensor([tokenizer.encode(text)])): read as plain rows, their dtype the default.
    if (Array.isArray(values) && values.some((v) => ArrayBuffer.isView(v) || Array.isArray(v))) {
      let inner: DType | undefined;
      const plain = (v: unknown): NestedArray => {
        if (ArrayBuffer.isView(v)) {
          inner ??= dtypeOfArray(site, v);
          return Array.from(v as unknown as ArrayLike<number | bigint>) as NestedArray;
        }
        return Array.isArray(v) ? v.map(plain) : v as NestedArray;
      };
      values = plain(values) as NestedValues;
      dtype ??= inner;
    }
    const collected: number[] = [];
    nested = nestedShape(values as NestedArray);
    const raw: (number | bigint)[] = [];
    let sawBool = false;
    let sawBig = false;
    const walk = (v: NestedArray, axis: number): void => {
      if (Array.isArray(v)) {
        if (v.length !== nested[axis]) fail(site, `values expected a rectangular nested array of shape ${formatShape(nested)}, got a row of length ${v.length} at depth ${axis}`);
        v.forEach((e) => walk(e, axis + 1));
      } else if (axis !== nested.length) {
        fail(site, `values expected a rectangular nested array of shape ${formatShape(nested)}, got a number at depth ${axis}`);
      } else if (typeof v === 'boolean') {
        sawBool = true;
        collected.push(v ? 1 : 0);
      } else if (typeof v === 'number' || typeof v === 'bigint') {
        if (typeof v === 'bigint') sawBig = true;
        collected.push(Number(v));
        raw.push(v);
      } else {
        fail(site, `values expected numbers or booleans, got ${describe(v)}`);
      }
    };
    walk(values as NestedArray, 0);
    flat = collected;
    // Bigints mean int64 (as toArray() gives them back), kept exact beyond 2^53.
    dtype ??= sawBool ? 'bool' : sawBig ? 'int64' : 'float32';
    if (dtype === 'int64' && sawBig && !sawBool) bigints = raw.map((v) => (typeof v === 'bigint' ? v : BigInt(Number.isFinite(v) ? Math.trunc(v) : 0)));
  }
  const shape = options.shape ? (checkShape(site, 'shape', options.shape) as number[]) : nested;
  if (!shape.every((d) => typeof d === 'number')) fail(site, `shape expected numbers for an eager tensor, got ${formatShape(shape)}`);
  if (sizeOf(shape) !== flat.length) {
    fail(site, `values expected ${sizeOf(shape)} elements for shape ${formatShape(shape)}, got ${flat.length}`);
  }
  // A typed array of the target dtype is copied as is: int64 stays exact beyond 2^53.
  const data = ArrayBuffer.isView(values) && dtypeOfArray(site, values) === dtype
    ? (values as TypedArray).slice()
    : bigints ? BigInt64Array.from(bigints, (v) => BigInt.asIntN(64, v)) : fromNumbers(dtype, flat);
  return new Tensor(shape, dtype, data);
}

function nestedShape(values: NestedArray): number[] {
  const shape: number[] = [];
  let v = values;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  return shape;
}

/** A scalar tensor (float32 unless `dtype` says otherwise). */
export function scalar(value: number | boolean, dtype?: DType): Tensor {
  return tensor(value, dtype ? { dtype } : {});
}

/** A tensor of `shape` filled with `value`. */
export function full(shape: readonly number[], value: number, dtype: DType = 'float32'): Tensor {
  const site = 'full';
  if (!isStatic(checkShape(site, 'shape', shape))) fail(site, `shape expected numbers, got ${formatShape(shape)}`);
  if (!isDType(dtype)) fail(site, `dtype expected float32, float64, int32, int64 or bool, got ${describe(dtype)}`);
  if (typeof value !== 'number') fail(site, `value expected a number, got ${describe(value)}`);
  if (isInt(dtype) && !Number.isFinite(value)) fail(site, `value expected a finite number for ${dtype}, got ${value}`);
  const data = allocate(dtype, sizeOf(shape));
  if (value !== 0) {
    if (data instanceof BigInt64Array) data.fill(BigInt(Math.trunc(value)));
    else data.fill(dtype === 'bool' ? 1 : value);
  }
  return new Tensor(shape, dtype, data);
}

/** A tensor of zeros. */
export function zeros(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  return full(shape, 0, dtype);
}

/** A tensor of ones. */
export function ones(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  return full(shape, 1, dtype);
}

/** A tensor that holds data: built outside a trace, or returned by a compiled graph. */
export type EagerTensor = Tensor & { readonly _data: TypedArray };

/** True when `t` holds data, false for a symbolic value inside a trace. */
export function isEager(t: Tensor): t is EagerTensor {
  return t._data !== undefined;
}
