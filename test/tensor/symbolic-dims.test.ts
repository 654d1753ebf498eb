/**
 * Symbolic dimensions as sums (src/core/shape.ts): one parser, one writer
 * and one evaluator, used by shape inference (concat writes 'P+T'), the
 * reference kernels (resolveShape) and the ONNX lowering (Shape and Add nodes).
 *
 * Proves: dimSum reads names and the constant; sumDim writes them back (a
 * number when there are no names); evaluateDim prefers a binding of the
 * whole name, sums the terms otherwise, and names the dimension nothing
 * binds; a traced concat of two symbolic lengths runs at their sum.
 */
import { describe, expect, it } from 'vitest';
import { concat, referenceBackend, tensor, trace } from '../../src/index.js';
import { dimSum, evaluateDim, resolveShape, sumDim } from '../../src/core/shape.js';

const numbers = (bindings: Record<string, number>) => ({
  bound: (n: string): number | undefined => bindings[n], constant: (n: number) => n, add: (a: number, b: number) => a + b,
});

describe('symbolic dimensions', () => {
  it('read and write sums', () => {
    expect(dimSum('P+T+1')).toEqual({ names: ['P', 'T'], constant: 1 });
    expect(dimSum('batch')).toEqual({ names: ['batch'], constant: 0 });
    expect(sumDim(['P', 'T'], 1)).toBe('P+T+1');
    expect(sumDim(['P'], 0)).toBe('P');
    expect(sumDim([], 3)).toBe(3);
  });

  it('evaluate a binding of the whole name first, then the sum of its terms', () => {
    expect(evaluateDim('here', 'P+T+1', numbers({ P: 4, T: 2 }))).toBe(7);
    expect(evaluateDim('here', 'P+T', numbers({ 'P+T': 9, P: 4, T: 2 }))).toBe(9);
    expect(resolveShape('here', [2, 'P+1', 'T'], new Map([['P', 3], ['T', 5]]))).toEqual([2, 4, 5]);
    expect(() => evaluateDim('here', 'P+Q', numbers({ P: 1 }))).toThrow(/^here: dimension 'Q' expected bound by a graph input, got no binding/);
  });

  it('a traced concat of two symbolic lengths runs at their sum', async () => {
    const g = trace((a, b) => concat([a, b], 0), [{ shape: ['P'] }, { shape: ['T'] }]);
    expect(g.outputs[0].shape).toEqual(['P+T']);
    const [out] = await (await referenceBackend.compile(g)).run([tensor([1, 2]), tensor([3, 4, 5])]);
    expect(out.toArray()).toEqual([1, 2, 3, 4, 5]);
  });
});
