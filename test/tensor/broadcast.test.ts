/**
 * NumPy broadcasting, checked against an independent implementation.
 *
 * Proves, over random shapes (fast-check):
 * - `broadcastShapes` returns exactly NumPy's result shape for compatible
 *   shapes (two or three of them) and throws for incompatible ones;
 * - it is commutative, and shapes broadcast against their own result stay put;
 * - `add`/`sub`/`mul`/`maximum`/`less` equal an elementwise loop over the
 *   output index space reading both operands at their broadcast positions;
 *   `add` and `mul` are commutative, value for value;
 * - `where` broadcasts all three operands;
 * - non-broadcastable shapes throw LlmTricksError naming the op and both
 *   shapes (`add: shapes expected broadcastable, got [2, 3] and [4, 3]`).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  LlmTricksError, add, less, maximum, mul, sub, tensor, where, type Tensor,
} from '../../src/index.js';
import { broadcastShapes } from '../../src/core/shape.js';
import { arbBroadcastableTo, arbFloats, arbShape, fmt, numel, readBroadcast, unravel } from '../helpers/shapes.js';

/** NumPy's rule, written from its documentation: align right, equal or 1. Null when incompatible. */
function numpyBroadcast(...shapes: readonly (readonly number[])[]): number[] | null {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const dims = shapes.map((s) => s[s.length - rank + i] ?? 1);
    const big = dims.filter((d) => d !== 1);
    if (new Set(big).size > 1) return null;
    out.push(big.length ? big[0] : 1);
  }
  return out;
}

/** Compatible shapes: a target, then `count` shapes that broadcast to it. */
const compatible = (count: number) => arbShape({ maxRank: 4, minDim: 0, maxDim: 4 }).chain((out) =>
  fc.tuple(...Array.from({ length: count }, () => arbBroadcastableTo(out))).map((shapes) => ({ out, shapes })));

/** Arbitrary pairs, mostly incompatible. */
const anyPair = fc.tuple(arbShape({ maxRank: 3, minDim: 0, maxDim: 3 }), arbShape({ maxRank: 3, minDim: 0, maxDim: 3 }));

/** Two compatible shapes with float32 values. */
const operandsArb = compatible(2).chain(({ shapes: [a, b] }) =>
  fc.tuple(arbFloats(numel(a)), arbFloats(numel(b))).map(([va, vb]) => ({ a, b, va, vb })));

/** The op's name from the error it throws, with its message. */
function thrown(fn: () => unknown): LlmTricksError {
  try { fn(); } catch (e) { if (e instanceof LlmTricksError) return e; throw e; }
  throw new Error('expected an LlmTricksError, got no error');
}

/** Naive elementwise `f` over the broadcast shape. */
function naive(f: (x: number, y: number) => number, a: readonly number[], va: number[], b: readonly number[], vb: number[]): number[] {
  const out = numpyBroadcast(a, b)!;
  return Array.from({ length: numel(out) }, (_, i) => {
    const idx = unravel(i, out);
    return f(readBroadcast(va, a, idx), readBroadcast(vb, b, idx));
  });
}

describe('broadcastShapes matches NumPy', () => {
  it('gives NumPy\'s result for compatible shapes', () => {
    fc.assert(fc.property(compatible(2), ({ shapes: [a, b] }) => {
      expect(broadcastShapes('add', a, b)).toEqual(numpyBroadcast(a, b));
    }), { numRuns: 300 });
  });

  it('gives NumPy\'s result for three shapes', () => {
    fc.assert(fc.property(compatible(3), ({ shapes }) => {
      expect(broadcastShapes('where', ...shapes)).toEqual(numpyBroadcast(...shapes));
    }), { numRuns: 200 });
  });

  it('agrees with NumPy on arbitrary pairs, including when they do not broadcast', () => {
    fc.assert(fc.property(anyPair, ([a, b]) => {
      const expected = numpyBroadcast(a, b);
      if (expected) expect(broadcastShapes('add', a, b)).toEqual(expected);
      else expect(() => broadcastShapes('add', a, b)).toThrow(LlmTricksError);
    }), { numRuns: 500 });
  });

  it('is commutative', () => {
    fc.assert(fc.property(anyPair, ([a, b]) => {
      const ab = numpyBroadcast(a, b) ? broadcastShapes('f', a, b) : 'error';
      const ba = numpyBroadcast(b, a) ? broadcastShapes('f', b, a) : 'error';
      expect(ab).toEqual(ba);
    }), { numRuns: 300 });
  });

  it('is idempotent: a shape broadcast with its result gives the result', () => {
    fc.assert(fc.property(compatible(2), ({ shapes: [a, b] }) => {
      const r = broadcastShapes('f', a, b);
      expect(broadcastShapes('f', a, r)).toEqual(r);
      expect(broadcastShapes('f', r, r)).toEqual(r);
    }), { numRuns: 100 });
  });

  it('handles scalars and zero-size dims', () => {
    expect(broadcastShapes('f', [], [])).toEqual([]);
    expect(broadcastShapes('f', [], [2, 3])).toEqual([2, 3]);
    expect(broadcastShapes('f', [0], [1])).toEqual([0]);
    expect(broadcastShapes('f', [2, 1, 0], [5, 1])).toEqual([2, 5, 0]);
    expect(() => broadcastShapes('f', [0], [3])).toThrow(LlmTricksError);
  });
});

describe('broadcasting binary ops equal an index loop', () => {
  const ops: [string, (x: Tensor, y: Tensor) => Tensor, (x: number, y: number) => number][] = [
    ['add', add, (x, y) => x + y],
    ['sub', sub, (x, y) => x - y],
    ['mul', mul, (x, y) => x * y],
    ['maximum', maximum, Math.max],
    ['less', less, (x, y) => (x < y ? 1 : 0)],
  ];

  it.each(ops)('%s(a, b) equals the loop on broadcast operands (float32, rounded once)', (_name, op, f) => {
    fc.assert(fc.property(operandsArb, ({ a, b, va, vb }) => {
      const out = op(tensor(va, { shape: a }), tensor(vb, { shape: b }));
      expect(out.shape).toEqual(numpyBroadcast(a, b));
      expect(Array.from(out.data(), Number)).toEqual(naive(f, a, va, b, vb).map(Math.fround));
    }), { numRuns: 100 });
  });

  it('add and mul are commutative value for value', () => {
    fc.assert(fc.property(operandsArb, ({ a, b, va, vb }) => {
      const x = tensor(va, { shape: a, dtype: 'float64' });
      const y = tensor(vb, { shape: b, dtype: 'float64' });
      expect(add(x, y).data()).toEqual(add(y, x).data());
      expect(mul(x, y).data()).toEqual(mul(y, x).data());
    }), { numRuns: 100 });
  });

  it('numbers broadcast as scalars of the tensor\'s dtype', () => {
    const x = tensor([[1, 2], [3, 4]], { dtype: 'int32' });
    expect(add(x, 10).toArray()).toEqual([[11, 12], [13, 14]]);
    expect(add(10, x).dtype).toBe('int32');
    expect(sub(1, x).toArray()).toEqual([[0, -1], [-2, -3]]);
  });

  it('where broadcasts condition, a and b together', () => {
    fc.assert(fc.property(compatible(3).chain(({ shapes }) => fc.tuple(
      fc.constant(shapes),
      fc.array(fc.boolean(), { minLength: numel(shapes[0]), maxLength: numel(shapes[0]) }),
      arbFloats(numel(shapes[1])), arbFloats(numel(shapes[2])),
    )), ([[c, a, b], vc, va, vb]) => {
      const out = where(tensor(vc, { shape: c, dtype: 'bool' }), tensor(va, { shape: a }), tensor(vb, { shape: b }));
      const shape = numpyBroadcast(c, a, b)!;
      expect(out.shape).toEqual(shape);
      const expected = Array.from({ length: numel(shape) }, (_, i) => {
        const idx = unravel(i, shape);
        return readBroadcast(vc.map(Number), c, idx) ? readBroadcast(va, a, idx) : readBroadcast(vb, b, idx);
      });
      expect(Array.from(out.data(), Number)).toEqual(expected);
    }), { numRuns: 100 });
  });
});

describe('non-broadcastable shapes', () => {
  const incompatible = anyPair.filter(([a, b]) => numpyBroadcast(a, b) === null);

  it.each([['add', add], ['sub', sub], ['mul', mul], ['maximum', maximum], ['less', less]] as const)(
    '%s throws LlmTricksError naming the op and both shapes',
    (name, op) => {
      fc.assert(fc.property(incompatible, ([a, b]) => {
        const err = thrown(() => op(tensor(new Float32Array(numel(a)), { shape: a }), tensor(new Float32Array(numel(b)), { shape: b })));
        expect(err.where).toBe(name);
        expect(err.message).toContain(`${name}: shapes expected broadcastable, got`);
        expect(err.message).toContain(fmt(a));
        expect(err.message).toContain(fmt(b));
      }), { numRuns: 50 });
    },
  );

  it('gives the exact documented message', () => {
    expect(() => add(tensor(new Float32Array(6), { shape: [2, 3] }), tensor(new Float32Array(12), { shape: [4, 3] })))
      .toThrow('add: shapes expected broadcastable, got [2, 3] and [4, 3]');
  });
});
