import { fail, show } from '../../core/errors.js';
import type { FamilyMembers } from '../primitives.js';
import { formatShape, isDim, sumDim, type Dim, type Shape } from '../../core/shape.js';
import { arity, checkIntList, sameDType } from './common.js';
import type { InferTable, Meta } from './types.js';

/** Splits a shape into its numeric product and its symbolic factors. */
function factors(shape: Shape): { n: number; syms: string[] } {
  let n = 1;
  const syms: string[] = [];
  for (const d of shape) {
    if (typeof d === 'number') n *= d;
    else syms.push(d);
  }
  return { n, syms };
}

/**
 * Resolves a reshape target: at most one -1, whose size is what the input
 * has left over. With symbolic dims the leftover must cancel to a number or
 * to one symbol.
 */
function reshapeTarget(site: string, from: Shape, to: Shape): Shape {
  if (!Array.isArray(to) || to.filter((d) => d === -1).length > 1 || !to.every((d) => d === -1 || isDim(d))) {
    fail(site, `shape expected dimensions (at most one -1), got ${show(to)}`);
  }
  const a = factors(from);
  const b = factors(to.filter((d) => d !== -1));
  const left = [...a.syms];
  const right: string[] = [];
  for (const s of b.syms) {
    const i = left.indexOf(s);
    if (i >= 0) left.splice(i, 1);
    else right.push(s);
  }
  const holes = to.filter((d) => d === -1).length;
  const mismatch = (): never => fail(site, `shape expected the element count of ${formatShape(from)}, got ${formatShape(to)}`);
  if (holes === 0) {
    if (left.length === 0 && right.length === 0 && a.n !== b.n) mismatch();
    return to;
  }
  if (right.length > 0 || left.length > 1 || b.n === 0 || a.n % b.n !== 0) {
    if (left.length === 0 && right.length === 0) mismatch();
    fail(site, `shape expected a -1 that ${formatShape(from)} determines, got ${formatShape(to)} (give every dimension)`);
  }
  let hole: Dim = a.n / b.n;
  if (left.length === 1) {
    if (hole !== 1) fail(site, `shape expected a -1 that ${formatShape(from)} determines, got ${formatShape(to)} (give every dimension)`);
    hole = left[0];
  }
  return to.map((d) => (d === -1 ? hole : d));
}

function checkDims(site: string, arg: string, dims: unknown, rank: number): Shape {
  if (!Array.isArray(dims) || dims.length !== rank || !dims.every(isDim)) {
    fail(site, `${arg} expected ${rank} dimensions, got ${show(dims)}`);
  }
  return dims as Shape;
}

/** Shape and dtype rules of the movement primitives. */
export const movement: InferTable<FamilyMembers<'movement'>> = {
  reshape: (site, inputs, attrs) => {
    arity(site, inputs, 1);
    return { shape: reshapeTarget(site, inputs[0].shape, attrs.shape), dtype: inputs[0].dtype };
  },
  transpose: (site, inputs, { perm }) => {
    arity(site, inputs, 1);
    const [x] = inputs;
    const rank = x.shape.length;
    const ok = Array.isArray(perm) && perm.length === rank && [...perm].sort((p, q) => p - q).every((p, i) => p === i);
    if (!ok) fail(site, `perm expected a permutation of [0..${rank - 1}], got ${show(perm)}`);
    return { shape: perm.map((p) => x.shape[p]), dtype: x.dtype };
  },
  expand: (site, inputs, { shape }) => {
    arity(site, inputs, 1);
    const [x] = inputs;
    const to = checkDims(site, 'shape', shape, Array.isArray(shape) ? shape.length : -1);
    const offset = to.length - x.shape.length;
    if (offset < 0 || x.shape.some((d, i) => d !== 1 && d !== to[offset + i] && (typeof to[offset + i] === typeof d || to[offset + i] === 1))) {
      fail(site, `shape expected one that ${formatShape(x.shape)} broadcasts to, got ${formatShape(to)}`);
    }
    return { shape: to, dtype: x.dtype };
  },
  slice: (site, inputs, { starts, sizes }) => {
    arity(site, inputs, 1);
    const [x] = inputs;
    const rank = x.shape.length;
    checkIntList(site, 'starts', starts, rank);
    checkDims(site, 'sizes', sizes, rank);
    x.shape.forEach((d, i) => {
      const size = sizes[i];
      if (typeof d === 'number' && typeof size === 'number' && starts[i] + size > d) {
        fail(site, `block expected inside ${formatShape(x.shape)}, got starts ${show(starts)} and sizes ${formatShape(sizes)}`);
      }
      if (typeof size === 'string' && starts[i] !== 0) {
        fail(site, `a symbolic size ('${size}') expected start 0, got ${starts[i]}`);
      }
    });
    return { shape: sizes, dtype: x.dtype };
  },
  pad: (site, inputs, { before, shape }) => {
    arity(site, inputs, 1);
    const [x] = inputs;
    const rank = x.shape.length;
    checkIntList(site, 'before', before, rank);
    checkDims(site, 'shape', shape, rank);
    x.shape.forEach((d, i) => {
      const out = shape[i];
      if (typeof d === 'number' && typeof out === 'number' && before[i] + d > out) {
        fail(site, `shape expected to hold ${formatShape(x.shape)} at offset ${show(before)}, got ${formatShape(shape)}`);
      }
    });
    return { shape, dtype: x.dtype };
  },
  concat: (site, inputs, { axis }) => {
    if (inputs.length === 0) fail(site, 'expected at least one input, got 0');
    const [first] = inputs;
    const rank = first.shape.length;
    if (!Number.isInteger(axis) || axis < 0 || axis >= rank) fail(site, `axis expected an integer in [0, ${rank - 1}], got ${axis}`);
    inputs.forEach((m: Meta) => {
      sameDType(site, first, m);
      if (m.shape.length !== rank || m.shape.some((d, i) => i !== axis && d !== first.shape[i])) {
        fail(site, `inputs expected equal shapes except on axis ${axis}, got ${inputs.map((x) => formatShape(x.shape)).join(', ')}`);
      }
    });
    const { n, syms } = factorsSum(inputs.map((m) => m.shape[axis]));
    const joined: Dim = sumDim(syms, n);
    return { shape: first.shape.map((d, i) => (i === axis ? joined : d)), dtype: first.dtype };
  },
};

function factorsSum(dims: readonly Dim[]): { n: number; syms: string[] } {
  let n = 0;
  const syms: string[] = [];
  for (const d of dims) {
    if (typeof d === 'number') n += d;
    else syms.push(d);
  }
  return { n, syms };
}
