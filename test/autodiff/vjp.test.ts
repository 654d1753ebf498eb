/**
 * Targeted properties of the vjp graph transform itself (not of any one
 * rule): broadcast gradients are summed back to each operand's shape,
 * gradients accumulate over every use of a value, `wrt` selects inputs by
 * name or index, unused inputs get zeros, symbolic dims survive
 * differentiation, custom VJPs replace the body, and bad requests fail with
 * an error naming `vjp`, what was expected and what arrived.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  add, defineCustomVjp, exp, gather, LlmTricksError, matmul, max, maximum, mean, mul, sign, sin, sum, tensor, trace, transpose, vjp,
  type Tensor,
} from '../../src/index.js';
import { anyFloatTensor, seed, shape } from '../helpers/arbitraries.js';
import { assertVjp, run, vjpGrads } from '../helpers/check-vjp.js';

const f64 = (values: number[] | number[][], dims?: number[]): Tensor => tensor(values, { dtype: 'float64', ...(dims ? { shape: dims } : {}) });
const arr = (t: Tensor): unknown => t.toArray();
const ones = (dims: number[]): Tensor => tensor(new Array<number>(dims.reduce((a, b) => a * b, 1)).fill(1), { shape: dims, dtype: 'float64' });

describe('broadcasting', () => {
  it('add of [3,1] and [4] gives gradients of shapes [3,1] and [4] holding the broadcast counts', () => {
    const [ga, gb] = vjpGrads(add, [f64([1, 2, 3], [3, 1]), f64([1, 2, 3, 4])]);
    expect(ga.shape).toEqual([3, 1]);
    expect(gb.shape).toEqual([4]);
    expect(arr(ga)).toEqual([[4], [4], [4]]);
    expect(arr(gb)).toEqual([3, 3, 3, 3]);
  });

  it('the gradient of a broadcast operand is the cotangent summed over the broadcast axes', () => {
    fc.assert(fc.property(shape({ minRank: 1 }), fc.nat(), (dims, k) => {
      const axis = k % dims.length;
      const small = dims.map((d, i) => (i === axis ? 1 : d));
      const a = ones(small);
      const c = tensor(Array.from({ length: dims.reduce((p, q) => p * q, 1) }, (_, i) => i), { shape: dims, dtype: 'float64' });
      const [ga] = vjpGrads((x, y) => mul(x, y), [a, ones(dims)], c);
      expect(arr(ga)).toEqual(arr(sum(c, axis, { keepDims: true })));
    }), { numRuns: 30 });
  });
});

describe('matmul against a shared weight', () => {
  const ops = (g: ReturnType<typeof vjp>): string[] => g.nodes.map((n) => ('op' in n ? String(n.op) : ''));
  // The right operand's gradient folds the axes it is shared over into one matrix product: no batched product, no sum.
  it.each([
    [[2, 3, 4], [4, 5]],
    [[2, 3, 6, 4], [2, 1, 4, 5]],
    [[2, 3, 6, 4], [1, 1, 4, 5]],
  ])('x%j @ w%j: dW from one product, the same as the batched product summed', (xs, ws) => {
    const g = vjp(trace(matmul, [{ shape: xs, dtype: 'float64' }, { shape: ws, dtype: 'float64' }]));
    expect(ops(g).filter((op) => op === 'sum')).toEqual([]);
    const x = tensor(Array.from({ length: xs.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i)), { shape: xs, dtype: 'float64' });
    const w = tensor(Array.from({ length: ws.reduce((a, b) => a * b, 1) }, (_, i) => Math.cos(i)), { shape: ws, dtype: 'float64' });
    const out = matmul(x, w);
    const ct = tensor(Array.from({ length: out.size }, (_, i) => (i % 7) - 3), { shape: out.shape as number[], dtype: 'float64' });
    const [, , gw] = run(g, [x, w, ct]);
    const batched = matmul(transpose(x, [...xs.keys()].map((i) => (i < xs.length - 2 ? i : 2 * xs.length - 3 - i))), ct);
    const lead = batched.rank - ws.length;
    const axes = batched.shape.flatMap((d, i) => (i < lead || (ws[i - lead] === 1 && d !== 1) ? [i] : []));
    const expected = sum(batched, axes, { keepDims: false });
    Array.from(gw.data() as Float64Array).forEach((v, i) => expect(v).toBeCloseTo((expected.data() as Float64Array)[i], 10));
    expect(gw.shape).toEqual(ws);
  });

  it.each([2, 5])('with symbolic batch and length (B=%i, T=3), where nothing folds, the gradient is still right', (b) => {
    const g = vjp(trace((x, w) => sum(matmul(x, w)), [{ shape: ['B', 'T', 3], dtype: 'float64' }, { shape: [3, 2], dtype: 'float64' }]));
    const x = tensor(Array.from({ length: b * 9 }, (_, i) => i / 10), { shape: [b, 3, 3], dtype: 'float64' });
    const [, , gw] = run(g, [x, f64([[1, 2], [3, 4], [5, 6]]), tensor(1, { dtype: 'float64' })]);
    // d/dw Σ(xw) = column sums of x over every row of every batch, for both columns.
    const colSums = [0, 1, 2].map((c) => Array.from({ length: b * 3 }, (_, r) => (r * 3 + c) / 10).reduce((p, q) => p + q, 0));
    Array.from(gw.data() as Float64Array).forEach((v, i) => expect(v).toBeCloseTo(colSums[i >> 1], 10));
  });
});

describe('accumulation', () => {
  it('a value used several times gets the sum of its gradients: d/dx Σ(x·x + sin(x) + x) = 2x + cos(x) + 1', () => {
    fc.assert(fc.property(anyFloatTensor(), seed, (x, s) => {
      const f = (v: Tensor): Tensor => add(add(mul(v, v), sin(v)), v);
      assertVjp(f, [x], { seed: s });
      const [g] = vjpGrads((v) => sum(f(v)), [x]);
      const xs = Array.from(x.data() as Float64Array);
      Array.from(g.data() as Float64Array).forEach((v, i) => expect(v).toBeCloseTo(2 * xs[i] + Math.cos(xs[i]) + 1, 12));
    }), { numRuns: 30 });
  });

  it('two outputs that are the same value add their cotangents', () => {
    const graph = trace((x) => { const y = mul(x, 3); return [y, y]; }, [{ shape: [2], dtype: 'float64' }]);
    const [, , g] = run(vjp(graph), [f64([1, 2]), f64([1, 10]), f64([100, 1000])]);
    expect(arr(g)).toEqual([303, 3030]);
  });

  it('an output that is an input passes its cotangent straight through', () => {
    const graph = trace((x) => x, [{ shape: [3], dtype: 'float64' }]);
    expect(arr(run(vjp(graph), [f64([1, 2, 3]), f64([4, 5, 6])])[1])).toEqual([4, 5, 6]);
  });
});

describe('wrt', () => {
  const graph = trace((x, w, idx) => sum(gather(matmul(x, w), idx, 0)), [
    { shape: [2, 3], dtype: 'float64', name: 'x' },
    { shape: [3, 2], dtype: 'float64', name: 'w' },
    { shape: [2], dtype: 'int32', name: 'idx' },
  ]);
  const x = f64([[1, 2, 3], [4, 5, 6]]);
  const w = f64([[1, -1], [2, -2], [3, -3]]);
  const feeds = [x, w, tensor([0, 1], { dtype: 'int32' })];
  const ct = tensor(1, { dtype: 'float64' });
  const gradX = arr(matmul(ones([2, 2]), transpose(w)));
  const gradW = arr(matmul(transpose(x), ones([2, 2])));

  it('defaults to every float input, in order', () => {
    const g = vjp(graph);
    expect(g.inputs.map((n) => n.name)).toEqual(['x', 'w', 'idx', 'cotangent0']);
    expect(g.outputs).toHaveLength(3);
    const [, gx, gw] = run(g, [...feeds, ct]);
    expect([arr(gx), arr(gw)]).toEqual([gradX, gradW]);
  });

  it('selects by name, by index, in the order given', () => {
    const [, byName] = run(vjp(graph, { wrt: ['w'] }), [...feeds, ct]);
    const [, byIndex] = run(vjp(graph, { wrt: [1] }), [...feeds, ct]);
    const [, first, second] = run(vjp(graph, { wrt: ['w', 0] }), [...feeds, ct]);
    expect(arr(byName)).toEqual(gradW);
    expect(arr(byIndex)).toEqual(gradW);
    expect([arr(first), arr(second)]).toEqual([gradW, gradX]);
  });

  it('gives exact zeros (of the input shape) for an input the output does not depend on', () => {
    const unused = trace((a, _b) => exp(a), [{ shape: [2], dtype: 'float64' }, { shape: [2, 2], dtype: 'float64' }]);
    const [, gx, gy] = run(vjp(unused), [f64([0, 0]), f64([[1, 2], [3, 4]]), f64([1, 1])]);
    expect(arr(gx)).toEqual([1, 1]);
    expect(gy.shape).toEqual([2, 2]);
    expect(arr(gy)).toEqual([[0, 0], [0, 0]]);
  });
});

describe('symbolic dims', () => {
  const graph = trace((x, w) => add(sum(matmul(x, w)), mean(x)), [{ shape: ['B', 3], dtype: 'float64' }, { shape: [3, 2], dtype: 'float64' }]);
  const g = vjp(graph);
  const w = f64([[1, 2], [3, 4], [5, 6]]);

  it.each([2, 5])('one vjp graph runs at batch size %i with the right gradients', (b) => {
    expect(g.inputs.map((n) => n.shape)).toEqual([['B', 3], [3, 2], []]);
    const x = tensor(Array.from({ length: b * 3 }, (_, i) => i / 10), { shape: [b, 3], dtype: 'float64' });
    const [, gx, gw] = run(g, [x, w, tensor(1, { dtype: 'float64' })]);
    expect(gx.shape).toEqual([b, 3]);
    // d/dx Σ(xw) = 1·wᵀ (row sums of w), d/dx mean(x) = 1/(3B)
    Array.from(gx.data() as Float64Array).forEach((v, i) => expect(v).toBeCloseTo([3, 7, 11][i % 3] + 1 / (3 * b), 12));
    expect(arr(gw)).toEqual(arr(matmul(transpose(x), ones([b, 2]))));
  });

  it('gives zeros of a symbolic shape for an unused input', () => {
    const unused = vjp(trace((x, _y) => sum(x), [{ shape: [2] }, { shape: ['B', 2] }]));
    const [, , gy] = run(unused, [tensor([1, 2]), tensor([1, 2, 3, 4, 5, 6], { shape: [3, 2] }), tensor(1)]);
    expect(arr(gy)).toEqual([[0, 0], [0, 0], [0, 0]]);
  });
});

describe('ties and custom VJPs', () => {
  it('ties share the gradient equally in max and maximum (as documented on the public ops)', () => {
    expect(arr(vjpGrads((v) => max(v), [f64([1, 3, 3])])[0])).toEqual([0, 0.5, 0.5]);
    const [ga, gb] = vjpGrads(maximum, [f64([1, 3]), f64([2, 3])]);
    expect([arr(ga), arr(gb)]).toEqual([[0, 0.5], [1, 0.5]]);
  });

  it('a custom VJP replaces the body: straight-through sign passes the cotangent unchanged', () => {
    let calls = 0;
    // The straight-through estimator: forward sign(x) (gradient 0), backward identity.
    const steSign = defineCustomVjp('steSign', (v) => sign(v), (ct) => { calls++; return [ct]; });
    const x = f64([-2, 0.5, 3]);
    expect(arr(vjpGrads(steSign, [x], f64([1, 2, 3]))[0])).toEqual([1, 2, 3]);
    expect(calls).toBe(1); // traced once, when the vjp graph was built
    expect(arr(vjpGrads((v) => sign(v), [x], f64([1, 2, 3]))[0])).toEqual([0, 0, 0]);
  });

  // A cotangent of the wrong shape but the right element count must not be
  // silently reshaped into the input's shape.
  it('a custom backward returning a transposed cotangent is rejected, naming the composite', () => {
    const bad = defineCustomVjp('transposedBack', (v) => mul(v, 1), (ct) => [transpose(ct)]);
    expect(() => vjpGrads(bad, [f64([[1, 2, 3], [4, 5, 6]])])).toThrow(/^transposedBack: VJP rule expected a cotangent of float64\[2, 3\]/);
  });
});

describe('errors name vjp, what was expected and what arrived', () => {
  const graph = trace((x, _idx) => mul(x, 2), [{ shape: [2], name: 'x' }, { shape: [2], dtype: 'int32', name: 'idx' }]);
  const message = (f: () => unknown): string => {
    try { f(); } catch (e) { expect(e).toBeInstanceOf(LlmTricksError); return (e as Error).message; }
    throw new Error('expected a throw');
  };

  it('wrt an int input', () => {
    expect(message(() => vjp(graph, { wrt: ['idx'] }))).toBe("vjp: wrt expected float inputs, got 'idx' of dtype int32");
    expect(message(() => vjp(graph, { wrt: [1] }))).toBe("vjp: wrt expected float inputs, got 'idx' of dtype int32");
  });

  it('wrt an unknown name or an index out of range', () => {
    expect(message(() => vjp(graph, { wrt: ['nope'] }))).toBe('vjp: wrt expected input indices or names of x, idx, got "nope"');
    expect(message(() => vjp(graph, { wrt: [2] }))).toBe('vjp: wrt expected input indices or names of x, idx, got 2');
    expect(message(() => vjp(graph, { wrt: [-1] }))).toMatch(/^vjp: wrt expected .* got -1$/);
  });
});
