/**
 * Reference kernels of reductions, indexing, selection, casts, integer
 * arithmetic and iota, against naive implementations written here.
 *
 * Proves, over random shapes and values (fast-check):
 * - sum/max over any subset of axes (negative spellings too), with and
 *   without keepDims, equal a loop grouping elements by their kept index;
 * - argMax returns the FIRST maximal index along the axis (ties are common:
 *   values are small integers);
 * - gather equals ONNX Gather with negative indices; scatterAdd adds updates
 *   at the gathered positions, accumulating repeated indices, and is the
 *   transpose of gather (<gather(x, i), u> = <x, scatterAdd(0, i, u)>);
 * - where selects per element for int32, int64 and bool operands;
 * - cast: float→int truncates toward zero, →bool is "non-zero", int64→int32
 *   wraps, bool→float is 0/1;
 * - int32 add/sub/mul wrap modulo 2^32 (checked with BigInt), int32 div
 *   truncates toward zero; int64 mul is exact below 2^63 (BigInt);
 * - iota(n, dtype) is 0..n-1.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  add, argMax, cast, div, gather, iota, max, mul, scatterAdd, sub, sum, tensor, where, zeros,
  type DType, type Tensor,
} from '../../../src/index.js';
import { arbInts, arbIntTensor, numel, ravel, unravel } from '../../helpers/shapes.js';

const flat = (t: Tensor): number[] => Array.from(t.data(), Number);

/** A tensor with a random subset of its axes, each maybe written negative. */
const reduceArb = arbIntTensor({ maxRank: 4, maxDim: 4 }).chain((x) => fc.tuple(
  fc.subarray(x.shape.map((_, i) => i)),
  fc.array(fc.boolean(), { minLength: x.shape.length, maxLength: x.shape.length }),
  fc.boolean(),
).map(([axes, neg, keepDims]) => ({ ...x, axes, spelled: axes.map((a) => (neg[a] ? a - x.shape.length : a)), keepDims })));

/** Naive reduction: fold every element into the slot of its kept index. */
function naiveReduce(values: number[], shape: number[], axes: number[], keepDims: boolean, init: number, f: (acc: number, v: number) => number) {
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const out = new Array<number>(numel(kept)).fill(init);
  values.forEach((v, i) => {
    const slot = ravel(unravel(i, shape).map((k, d) => (axes.includes(d) ? 0 : k)), kept);
    out[slot] = f(out[slot], v);
  });
  return { shape: keepDims ? kept : shape.filter((_, i) => !axes.includes(i)), values: out };
}

describe('reductions', () => {
  it('sum over random axes equals the grouping loop', () => {
    fc.assert(fc.property(reduceArb, fc.constantFrom<DType>('float32', 'float64', 'int32', 'int64'), ({ shape, values, axes, spelled, keepDims }, dtype) => {
      const out = sum(tensor(values, { shape, dtype }), spelled, { keepDims });
      const ref = naiveReduce(values, shape, axes, keepDims, 0, (a, v) => a + v);
      expect(out.dtype).toBe(dtype);
      expect(out.shape).toEqual(ref.shape);
      expect(flat(out)).toEqual(ref.values);
    }), { numRuns: 200 });
  });

  it('max over random axes equals the grouping loop', () => {
    fc.assert(fc.property(reduceArb, ({ shape, values, axes, spelled, keepDims }) => {
      const out = max(tensor(values, { shape }), spelled, { keepDims });
      const ref = naiveReduce(values, shape, axes, keepDims, -Infinity, Math.max);
      expect(out.shape).toEqual(ref.shape);
      expect(flat(out)).toEqual(ref.values);
    }), { numRuns: 200 });
  });

  it('sum and max with no axis reduce everything', () => {
    const x = tensor([[1, -5], [7, 2]]);
    expect(sum(x).shape).toEqual([]);
    expect(sum(x).item()).toBe(5);
    expect(max(x).item()).toBe(7);
    expect(sum(x, undefined, { keepDims: true }).shape).toEqual([1, 1]);
  });

  it('argMax returns the first maximal index along the axis', () => {
    const arb = arbIntTensor({ minRank: 1, maxRank: 4, maxDim: 5 }, 2).chain((x) =>
      fc.tuple(fc.integer({ min: 0, max: x.shape.length - 1 }), fc.boolean()).map(([axis, keepDims]) => ({ ...x, axis, keepDims })));
    fc.assert(fc.property(arb, ({ shape, values, axis, keepDims }) => {
      const out = argMax(tensor(values, { shape }), axis, { keepDims });
      const kept = shape.map((d, i) => (i === axis ? 1 : d));
      expect(out.dtype).toBe('int32');
      expect(out.shape).toEqual(keepDims ? kept : shape.filter((_, i) => i !== axis));
      const expected = Array.from({ length: numel(kept) }, (_, f) => {
        const idx = unravel(f, kept);
        let best = 0;
        for (let k = 1; k < shape[axis]; k++) {
          idx[axis] = k;
          const v = values[ravel(idx, shape)];
          idx[axis] = best;
          if (v > values[ravel(idx, shape)]) best = k;
        }
        return best;
      });
      expect(flat(out)).toEqual(expected);
    }), { numRuns: 200 });
    expect(flat(argMax(tensor([3, 9, 9, 1, 9]), 0))).toEqual([1]);
  });
});

/** x, an axis, and in-range (possibly negative) indices of a random shape. */
const gatherArb = arbIntTensor({ minRank: 1, maxRank: 3, maxDim: 4 }).chain((x) => fc.tuple(
  fc.integer({ min: 0, max: x.shape.length - 1 }),
  fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 }),
).chain(([axis, ishape]) => {
  const dim = x.shape[axis];
  const oshape = [...x.shape.slice(0, axis), ...ishape, ...x.shape.slice(axis + 1)];
  return fc.tuple(
    fc.array(fc.integer({ min: -dim, max: dim - 1 }), { minLength: numel(ishape), maxLength: numel(ishape) }),
    arbInts(numel(oshape)),
    fc.constantFrom<'int32' | 'int64'>('int32', 'int64'),
  ).map(([idx, updates, itype]) => ({ ...x, axis, ishape, idx, oshape, updates, itype }));
}));

describe('gather and scatterAdd', () => {
  it('gather equals ONNX Gather, negative indices counting from the end', () => {
    fc.assert(fc.property(gatherArb, ({ shape, values, axis, ishape, idx, oshape, itype }) => {
      const out = gather(tensor(values, { shape }), tensor(idx, { shape: ishape, dtype: itype }), axis);
      expect(out.shape).toEqual(oshape);
      const r = ishape.length;
      expect(flat(out)).toEqual(Array.from({ length: numel(oshape) }, (_, f) => {
        const o = unravel(f, oshape);
        const j = idx[ravel(o.slice(axis, axis + r), ishape)];
        const src = [...o.slice(0, axis), j < 0 ? j + shape[axis] : j, ...o.slice(axis + r)];
        return values[ravel(src, shape)];
      }));
    }), { numRuns: 200 });
  });

  it('scatterAdd accumulates updates at repeated and negative indices', () => {
    fc.assert(fc.property(gatherArb, ({ shape, values, axis, ishape, idx, oshape, updates, itype }) => {
      const out = scatterAdd(tensor(values, { shape }), tensor(idx, { shape: ishape, dtype: itype }), tensor(updates, { shape: oshape }), axis);
      const expected = [...values];
      const r = ishape.length;
      updates.forEach((u, f) => {
        const o = unravel(f, oshape);
        const j = idx[ravel(o.slice(axis, axis + r), ishape)];
        expected[ravel([...o.slice(0, axis), j < 0 ? j + shape[axis] : j, ...o.slice(axis + r)], shape)] += u;
      });
      expect(out.shape).toEqual(shape);
      expect(flat(out)).toEqual(expected);
    }), { numRuns: 200 });
    const hits = scatterAdd(zeros([3]), tensor([1, 1, -2, 0], { dtype: 'int32' }), tensor([1, 2, 4, 8]));
    expect(hits.toArray()).toEqual([8, 7, 0]);
  });

  it('scatterAdd is the transpose of gather', () => {
    fc.assert(fc.property(gatherArb, ({ shape, values, axis, ishape, idx, oshape, updates }) => {
      const i = tensor(idx, { shape: ishape, dtype: 'int32' });
      const lhs = sum(mul(gather(tensor(values, { shape }), i, axis), tensor(updates, { shape: oshape }))).item();
      const rhs = sum(mul(tensor(values, { shape }), scatterAdd(zeros(shape), i, tensor(updates, { shape: oshape }), axis))).item();
      expect(lhs).toBe(rhs);
    }), { numRuns: 100 });
  });
});

describe('where, cast, integer ops, iota', () => {
  it.each<DType>(['int32', 'int64', 'bool', 'float64'])('where selects per element for %s operands', (dtype) => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 12 }).chain((n) => fc.tuple(
      fc.array(fc.boolean(), { minLength: n, maxLength: n }), arbInts(n), arbInts(n))), ([c, a, b]) => {
      const out = where(tensor(c, { shape: [c.length], dtype: 'bool' }), tensor(a, { shape: [a.length], dtype }), tensor(b, { shape: [b.length], dtype }));
      expect(out.dtype).toBe(dtype);
      const pick = c.map((ci, i) => (ci ? a[i] : b[i]));
      expect(flat(out)).toEqual(dtype === 'bool' ? pick.map((v) => (v !== 0 ? 1 : 0)) : pick);
    }), { numRuns: 50 });
  });

  it('cast float→int truncates toward zero; →bool is non-zero', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true })), (v) => {
      const x = tensor(v, { dtype: 'float64' });
      expect(flat(cast(x, 'int32'))).toEqual(v.map((e) => Math.trunc(e) + 0));
      expect(flat(cast(x, 'int64'))).toEqual(v.map((e) => Math.trunc(e) + 0));
      expect(flat(cast(x, 'bool'))).toEqual(v.map((e) => (e !== 0 ? 1 : 0)));
    }), { numRuns: 100 });
    expect(cast(tensor([-2.5, -0.5, 0.5, 2.5]), 'int32').toArray()).toEqual([-2, 0, 0, 2]);
    expect(cast(tensor([true, false]), 'float32').toArray()).toEqual([1, 0]);
    expect(cast(tensor([2n ** 32n + 5n, -(2n ** 31n) - 1n], { dtype: 'int64' }), 'int32').toArray()).toEqual([5, 2 ** 31 - 1]);
  });

  const i32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
  const wrap32 = (v: bigint): number => Number(BigInt.asIntN(32, v));

  it('int32 add, sub and mul wrap modulo 2^32', () => {
    fc.assert(fc.property(fc.array(fc.tuple(i32, i32), { minLength: 1 }), (pairs) => {
      const a = tensor(pairs.map((p) => p[0]), { dtype: 'int32' });
      const b = tensor(pairs.map((p) => p[1]), { dtype: 'int32' });
      expect(flat(add(a, b))).toEqual(pairs.map(([x, y]) => wrap32(BigInt(x) + BigInt(y))));
      expect(flat(sub(a, b))).toEqual(pairs.map(([x, y]) => wrap32(BigInt(x) - BigInt(y))));
      expect(flat(mul(a, b))).toEqual(pairs.map(([x, y]) => wrap32(BigInt(x) * BigInt(y))));
    }), { numRuns: 100 });
  });

  it('int32 div truncates toward zero', () => {
    fc.assert(fc.property(fc.array(fc.tuple(i32, i32.filter((y) => y !== 0)), { minLength: 1 }), (pairs) => {
      const out = div(tensor(pairs.map((p) => p[0]), { dtype: 'int32' }), tensor(pairs.map((p) => p[1]), { dtype: 'int32' }));
      expect(flat(out)).toEqual(pairs.map(([x, y]) => wrap32(BigInt(x) / BigInt(y))));
    }), { numRuns: 100 });
    expect(div(tensor([-7, 7, -7], { dtype: 'int32' }), tensor([2, -2, -2], { dtype: 'int32' })).toArray()).toEqual([-3, -3, 3]);
  });

  it('int64 mul is exact when the product fits (BUG: wraps to 32 bits via Math.imul)', () => {
    const a = tensor([100000, -3000000, 2 ** 26], { dtype: 'int64' });
    const b = tensor([100000, 7000, 2 ** 26], { dtype: 'int64' });
    expect(mul(a, b).toArray()).toEqual([10n ** 10n, -21n * 10n ** 9n, 2n ** 52n]);
  });

  it.each<DType>(['int32', 'int64', 'float32', 'float64'])('iota(n, %s) is 0..n-1', (dtype) => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 300 }), (n) => {
      const x = iota(n, dtype);
      expect(x.shape).toEqual([n]);
      expect(x.dtype).toBe(dtype);
      expect(flat(x)).toEqual(Array.from({ length: n }, (_, i) => i));
    }), { numRuns: 20 });
  });
});
