/**
 * Reference kernels of linear algebra and movement, against naive
 * implementations written here (index loops over unravelled positions).
 *
 * Proves, over random shapes and values (fast-check):
 * - matmul equals the triple loop, bit for bit (same k order, float64
 *   accumulation, one rounding to float32), in float32 and float64, with
 *   broadcast batch dims, and for K and N crossing the 64/256 tile edges;
 * - transpose(x, perm) reads x at the permuted index; transposing back with
 *   the inverse permutation is the identity; swapAxes is its own inverse;
 * - reshape keeps row-major data (also with -1) and unsqueeze/squeeze undo
 *   each other;
 * - expand equals NumPy broadcasting of x to the target shape;
 * - slice reads the block; pad(slice(x)) keeps exactly the block and zeros
 *   the rest; slice(pad(x)) is x;
 * - concat equals the index loop and its parts come back by sliceAxis;
 * - every movement kernel preserves int32/int64/bool data.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  concat, expand, matmul, pad, reshape, slice, sliceAxis, squeeze, swapAxes, tensor, transpose, unsqueeze,
  type DType, type Tensor,
} from '../../../src/index.js';
import {
  arbBroadcastableTo, arbFloats, arbInts, arbIntTensor, arbPerm, arbShape, numel, ravel, readBroadcast, unravel,
} from '../../helpers/shapes.js';

const flat = (t: Tensor): number[] => Array.from(t.data(), Number);

/** Naive batched matmul over broadcast batch dims. */
function naiveMatmul(a: number[], as: number[], b: number[], bs: number[], dtype: DType): { shape: number[]; values: number[] } {
  const [M, K] = as.slice(-2);
  const N = bs[bs.length - 1];
  const ab = as.slice(0, -2);
  const bb = bs.slice(0, -2);
  const rank = Math.max(ab.length, bb.length);
  const batch = Array.from({ length: rank }, (_, i) => Math.max(ab[ab.length - rank + i] ?? 1, bb[bb.length - rank + i] ?? 1));
  const values: number[] = [];
  for (let p = 0; p < numel(batch); p++) {
    const idx = unravel(p, batch);
    const pa = ravel(ab.map((d, i) => (d === 1 ? 0 : idx[rank - ab.length + i])), ab);
    const pb = ravel(bb.map((d, i) => (d === 1 ? 0 : idx[rank - bb.length + i])), bb);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[pa * M * K + i * K + k] * b[pb * K * N + k * N + j];
        values.push(dtype === 'float32' ? Math.fround(s) : s);
      }
    }
  }
  return { shape: [...batch, M, N], values };
}

const matmulCase = (o: { batchRank: number; maxK: number; maxN: number; minK?: number; minN?: number }) =>
  fc.record({
    batch: arbShape({ maxRank: o.batchRank, maxDim: 3 }),
    M: fc.integer({ min: 1, max: 4 }),
    K: fc.integer({ min: o.minK ?? 1, max: o.maxK }),
    N: fc.integer({ min: o.minN ?? 1, max: o.maxN }),
    dtype: fc.constantFrom<DType>('float32', 'float64'),
  }).chain(({ batch, M, K, N, dtype }) => fc.tuple(arbBroadcastableTo(batch), arbBroadcastableTo(batch)).chain(([ba, bb]) => {
    const as = [...ba, M, K];
    const bs = [...bb, K, N];
    return fc.tuple(arbFloats(numel(as)), arbFloats(numel(bs))).map(([a, b]) => ({ as, bs, a, b, dtype }));
  }));

describe('matmul kernel', () => {
  const check = ({ as, bs, a, b, dtype }: { as: number[]; bs: number[]; a: number[]; b: number[]; dtype: DType }) => {
    const out = matmul(tensor(a, { shape: as, dtype }), tensor(b, { shape: bs, dtype }));
    const ref = naiveMatmul(a, as, b, bs, dtype);
    expect(out.dtype).toBe(dtype);
    expect(out.shape).toEqual(ref.shape);
    expect(flat(out)).toEqual(ref.values);
  };

  it('equals the triple loop with broadcast batch dims (float32 and float64)', () => {
    fc.assert(fc.property(matmulCase({ batchRank: 3, maxK: 6, maxN: 6 }), check), { numRuns: 150 });
  });

  it('equals the triple loop when K crosses the 64-wide tile', () => {
    fc.assert(fc.property(matmulCase({ batchRank: 1, minK: 60, maxK: 200, maxN: 5 }), check), { numRuns: 8 });
  });

  it('equals the triple loop when N crosses the 256-wide tile', () => {
    fc.assert(fc.property(matmulCase({ batchRank: 1, maxK: 70, minN: 250, maxN: 600 }), check), { numRuns: 6 });
  });

  it.each([[63, 255], [64, 256], [65, 257], [129, 513]])('exact tile edges K=%i N=%i', (K, N) => {
    const a = Array.from({ length: 2 * K }, (_, i) => ((i * 7) % 13) - 6);
    const b = Array.from({ length: K * N }, (_, i) => ((i * 5) % 11) / 4 - 1);
    check({ as: [2, K], bs: [K, N], a, b, dtype: 'float32' });
  });

  it('handles K = 0 (all zeros) and M = 0 (empty)', () => {
    expect(flat(matmul(tensor([], { shape: [2, 0] }), tensor([], { shape: [0, 3] })))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(matmul(tensor([], { shape: [0, 2] }), tensor([1, 2], { shape: [2, 1] })).shape).toEqual([0, 1]);
  });
});

describe('transpose kernel', () => {
  const arb = arbIntTensor({ maxRank: 5, maxDim: 4 }, 99).chain((x) => arbPerm(x.shape.length).map((perm) => ({ ...x, perm })));

  it('out[idx] = x[idx read through perm]', () => {
    fc.assert(fc.property(arb, ({ shape, values, perm }) => {
      const out = transpose(tensor(values, { shape }), perm);
      const outShape = perm.map((p) => shape[p]);
      expect(out.shape).toEqual(outShape);
      const expected = Array.from({ length: numel(outShape) }, (_, i) => {
        const o = unravel(i, outShape);
        const idx = new Array<number>(shape.length);
        perm.forEach((p, k) => { idx[p] = o[k]; });
        return values[ravel(idx, shape)];
      });
      expect(flat(out)).toEqual(expected);
    }), { numRuns: 200 });
  });

  it('transposing back with the inverse permutation is the identity', () => {
    fc.assert(fc.property(arb, ({ shape, values, perm }) => {
      const inv = new Array<number>(perm.length);
      perm.forEach((p, i) => { inv[p] = i; });
      const x = tensor(values, { shape, dtype: 'int32' });
      const back = transpose(transpose(x, perm), inv);
      expect(back.shape).toEqual(shape);
      expect(back.data()).toEqual(x.data());
    }), { numRuns: 100 });
  });

  it('defaults to reversing the axes; swapAxes is its own inverse', () => {
    const x = tensor([[[1, 2, 3], [4, 5, 6]]]);
    expect(transpose(x).shape).toEqual([3, 2, 1]);
    expect(transpose(x).toArray()).toEqual([[[1], [4]], [[2], [5]], [[3], [6]]]);
    expect(swapAxes(swapAxes(x, 0, -1), 0, -1).toArray()).toEqual(x.toArray());
  });
});

describe('reshape, unsqueeze, squeeze', () => {
  it('keeps the row-major data for any target with the same count, including -1', () => {
    const arb = arbIntTensor({ maxRank: 4, maxDim: 4 }).chain((x) =>
      fc.tuple(arbPerm(x.shape.length), fc.integer({ min: 0, max: Math.max(0, x.shape.length - 1) }))
        .map(([perm, hole]) => ({ ...x, target: perm.map((p) => x.shape[p]), hole })));
    fc.assert(fc.property(arb, ({ shape, values, target, hole }) => {
      const x = tensor(values, { shape });
      expect(reshape(x, target).shape).toEqual(target);
      expect(flat(reshape(x, target))).toEqual(values);
      if (target.length > 0) {
        const withHole = target.map((d, i) => (i === hole ? -1 : d));
        expect(reshape(x, withHole).shape).toEqual(target);
      }
      expect(flat(reshape(x, [-1]))).toEqual(values);
    }), { numRuns: 100 });
  });

  it('unsqueeze then squeeze at the same axis is the identity', () => {
    fc.assert(fc.property(arbIntTensor({ maxRank: 3 }).chain((x) =>
      fc.integer({ min: -x.shape.length - 1, max: x.shape.length }).map((axis) => ({ ...x, axis }))), ({ shape, values, axis }) => {
      const u = unsqueeze(tensor(values, { shape }), axis);
      expect(u.rank).toBe(shape.length + 1);
      expect(u.shape[axis < 0 ? axis + shape.length + 1 : axis]).toBe(1);
      const s = squeeze(u, axis);
      expect(s.shape).toEqual(shape);
      expect(flat(s)).toEqual(values);
    }), { numRuns: 50 });
  });
});

describe('expand kernel', () => {
  it('equals NumPy broadcasting of x to the target', () => {
    const arb = arbShape({ maxRank: 4, maxDim: 3 }).chain((to) => arbBroadcastableTo(to).chain((from) =>
      arbInts(numel(from)).map((values) => ({ to, from, values }))));
    fc.assert(fc.property(arb, ({ to, from, values }) => {
      const out = expand(tensor(values, { shape: from, dtype: 'int64' }), to);
      expect(out.shape).toEqual(to);
      expect(flat(out)).toEqual(Array.from({ length: numel(to) }, (_, i) => readBroadcast(values, from, unravel(i, to))));
    }), { numRuns: 150 });
  });
});

/** A tensor and a block inside it: starts + sizes <= shape on every axis. */
const blockArb = arbIntTensor({ maxRank: 4, minDim: 0, maxDim: 5 }).chain((x) => fc.tuple(
  ...x.shape.map((d) => fc.integer({ min: 0, max: d }).chain((s) => fc.tuple(fc.constant(s), fc.integer({ min: 0, max: d - s })))),
).map((pairs) => ({ ...x, starts: pairs.map((p) => p[0]), sizes: pairs.map((p) => p[1]) })));

describe('slice and pad kernels', () => {
  it('slice reads the block at starts of sizes', () => {
    fc.assert(fc.property(blockArb, ({ shape, values, starts, sizes }) => {
      const out = slice(tensor(values, { shape }), starts, sizes);
      expect(out.shape).toEqual(sizes);
      expect(flat(out)).toEqual(Array.from({ length: numel(sizes) }, (_, i) =>
        values[ravel(unravel(i, sizes).map((v, d) => v + starts[d]), shape)]));
    }), { numRuns: 200 });
  });

  it('pad(slice(x)) keeps the block and zeros everything else', () => {
    fc.assert(fc.property(blockArb, ({ shape, values, starts, sizes }) => {
      const x = tensor(values, { shape, dtype: 'float64' });
      const out = pad(slice(x, starts, sizes), starts, shape);
      expect(out.shape).toEqual(shape);
      expect(flat(out)).toEqual(values.map((v, i) => {
        const idx = unravel(i, shape);
        return idx.every((k, d) => k >= starts[d] && k < starts[d] + sizes[d]) ? v : 0;
      }));
    }), { numRuns: 200 });
  });

  it('slice(pad(x)) is x, for every dtype', () => {
    fc.assert(fc.property(blockArb, fc.constantFrom<DType>('float32', 'int32', 'int64', 'bool'), ({ shape, values, starts, sizes }, dtype) => {
      // Use the block as the small tensor and `shape` as the padded one.
      const small = tensor(values.slice(0, numel(sizes)), { shape: sizes, dtype });
      const back = slice(pad(small, starts, shape), starts, sizes);
      expect(back.dtype).toBe(dtype);
      expect(back.data()).toEqual(small.data());
    }), { numRuns: 150 });
  });
});

describe('concat kernel', () => {
  const arb = arbShape({ minRank: 1, maxRank: 4, maxDim: 3 }).chain((base) => fc.tuple(
    fc.integer({ min: 0, max: base.length - 1 }),
    fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }),
  ).chain(([axis, lens]) => {
    const shapes = lens.map((l) => base.map((d, i) => (i === axis ? l : d)));
    return fc.tuple(...shapes.map((s) => arbInts(numel(s)))).map((parts) => ({ axis, shapes, parts }));
  }));

  it('equals the index loop and splits back by sliceAxis', () => {
    fc.assert(fc.property(arb, fc.constantFrom<DType>('float32', 'int64'), ({ axis, shapes, parts }, dtype) => {
      const xs = parts.map((p, i) => tensor(p, { shape: shapes[i], dtype }));
      const out = concat(xs, axis - shapes[0].length);
      const outShape = shapes[0].map((d, i) => (i === axis ? shapes.reduce((s, sh) => s + sh[axis], 0) : d));
      expect(out.shape).toEqual(outShape);
      const expected = Array.from({ length: numel(outShape) }, (_, f) => {
        const idx = unravel(f, outShape);
        let k = 0;
        while (idx[axis] >= shapes[k][axis]) idx[axis] -= shapes[k++][axis];
        return parts[k][ravel(idx, shapes[k])];
      });
      expect(flat(out)).toEqual(expected);
      let at = 0;
      xs.forEach((x) => {
        const len = x.shape[axis] as number;
        expect(sliceAxis(out, axis, at, at + len).data()).toEqual(x.data());
        at += len;
      });
    }), { numRuns: 150 });
  });
});
