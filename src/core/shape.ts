import { fail, show } from './errors.js';

/**
 * One dimension: a size, or the name of a symbolic size (`'batch'`, `'T'`)
 * bound when a compiled graph runs, so one graph serves every length.
 */
export type Dim = number | string;
/** A tensor's dimensions, outermost first. */
export type Shape = readonly Dim[];

/** True when every dimension is a known number. */
export function isStatic(shape: Shape): shape is readonly number[] {
  return shape.every((d) => typeof d === 'number');
}

/** The number of elements of a static shape (1 for a scalar). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a static shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** `[2, T, 3]`, the form every error message uses. */
export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** True when two shapes are dimension-for-dimension identical. */
export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Whether two dims may be equal: equal numbers, or at least one symbolic (its value is known only at run time). */
export function mayEqual(a: Dim, b: Dim): boolean {
  return typeof a !== 'number' || typeof b !== 'number' || a === b;
}

/** True when `d` is a valid dimension: a non-negative integer or a non-empty name. */
export function isDim(d: unknown): d is Dim {
  return (typeof d === 'number' && Number.isInteger(d) && d >= 0) || (typeof d === 'string' && d.length > 0);
}

/** Checks that `shape` is an array of dimensions, naming `where` and `arg` otherwise. */
export function checkShape(site: string, arg: string, shape: unknown): Shape {
  if (!Array.isArray(shape) || !shape.every(isDim)) {
    fail(site, `${arg} expected an array of non-negative integers or dimension names, got ${show(shape)}`);
  }
  return shape as Shape;
}

/**
 * NumPy/ONNX broadcasting of any number of shapes: align on the right; each
 * dimension pair must be equal or contain a 1. A symbolic dimension broadcast
 * against a number n > 1 is taken to be n (checked again at run time).
 */
export function broadcastShapes(site: string, ...shapes: Shape[]): Shape {
  shapes.forEach((s, i) => checkShape(site, `shape ${i}`, s));
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: Dim[] = new Array<Dim>(rank).fill(1);
  for (let i = 0; i < rank; i++) {
    for (const shape of shapes) {
      const d = shape[shape.length - rank + i];
      if (d === undefined || d === 1) continue;
      const o = out[i];
      if (o === 1 || o === d) out[i] = d;
      else if (typeof o === 'string' && typeof d === 'number') out[i] = d;
      else if (typeof o === 'number' && typeof d === 'string') continue;
      else fail(site, `shapes expected broadcastable, got ${shapes.map(formatShape).join(' and ')}`);
    }
  }
  return out;
}

/** Normalises a possibly negative axis into [0, rank), naming `where` when out of range. */
export function normalizeAxis(site: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    fail(site, rank === 0 ? `axis expected none for a scalar, got ${axis}` : `axis expected an integer in [${-rank}, ${rank - 1}], got ${axis}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Symbol bindings of a running graph: name → size. */
export type Bindings = ReadonlyMap<string, number>;

/** Replaces symbolic dimensions by their bound sizes. */
export function resolveShape(site: string, shape: Shape, bindings: Bindings): number[] {
  return shape.map((d) => (typeof d === 'number' ? d : resolveDim(site, d, bindings)));
}

/**
 * A symbolic dimension read as a sum: the names of input dimensions and a
 * constant. concat joins symbolic sizes this way ('P+T', 'P+1'); a plain
 * name is one term.
 */
export interface DimSum {
  readonly names: readonly string[];
  readonly constant: number;
}

/** Reads a symbolic dimension as a {@link DimSum}: the one parser of 'P+T+1'. */
export function dimSum(name: string): DimSum {
  const names: string[] = [];
  let constant = 0;
  for (const t of name.split('+')) {
    if (/^\d+$/.test(t)) constant += Number(t);
    else names.push(t);
  }
  return { names, constant };
}

/** Writes a sum as a dimension: the names joined by '+', then the constant; a number when there are no names. */
export function sumDim(names: readonly string[], constant: number): Dim {
  return names.length === 0 ? constant : [...names, ...(constant ? [String(constant)] : [])].join('+');
}

/**
 * The one evaluator of a symbolic dimension: `bound(name)` gives a name's
 * value when an input binds that exact name (undefined if none), else the
 * dimension is evaluated as its sum with `constant` and `add`. A name
 * nothing binds is an error at `site`.
 */
export function evaluateDim<T>(site: string, name: string, ops: { bound(name: string): T | undefined; constant(n: number): T; add(a: T, b: T): T }): T {
  const whole = ops.bound(name);
  if (whole !== undefined) return whole;
  const { names, constant } = dimSum(name);
  if (names.length === 1 && names[0] === name) fail(site, `dimension '${name}' expected bound by a graph input, got no binding`);
  const terms = names.map((n) => evaluateDim(site, n, ops));
  if (constant !== 0 || terms.length === 0) terms.push(ops.constant(constant));
  return terms.reduce((a, b) => ops.add(a, b));
}

/** The size of a named dimension: bound by an input, or a sum of bound ones. */
function resolveDim(site: string, name: string, bindings: Bindings): number {
  return evaluateDim(site, name, { bound: (n) => bindings.get(n), constant: (n) => n, add: (a, b) => a + b });
}

/**
 * Binds the symbolic dims of `declared` from an actual shape, checking fixed
 * dims and earlier bindings.
 */
export function bindShape(site: string, declared: Shape, actual: readonly number[], bindings: Map<string, number>): void {
  if (declared.length !== actual.length) {
    fail(site, `shape expected ${formatShape(declared)}, got ${formatShape(actual)}`);
  }
  declared.forEach((d, i) => {
    const a = actual[i];
    const bound = typeof d === 'number' ? d : bindings.get(d);
    if (bound === undefined) bindings.set(d as string, a);
    else if (bound !== a) {
      fail(site, `shape expected ${formatShape(declared)}${typeof d === 'string' ? ` with ${d} = ${bound}` : ''}, got ${formatShape(actual)}`);
    }
  });
}
