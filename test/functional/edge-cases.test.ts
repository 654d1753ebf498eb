/**
 * Edge cases a review found, each pinned by the behaviour it now has:
 * - sigmoid and silu have finite, correct gradients at ±100 (float32) and
 *   ±800 (float64), where exp overflows;
 * - crossEntropy ignores a row of -Inf logits instead of turning it into NaN;
 * - logSumExp of an all -Inf row is -Inf; d(a^0)/da at a = 0 is 0;
 * - grad/valueAndGrad accept integer arguments (targets) and give them zeros;
 * - int64 stays exact beyond 2^53 through tensor() of bigints and sum/max;
 * - argMax returns the first NaN, as max() propagates it;
 * - a fractional number against an integer tensor is an error, not a truncation;
 * - expand of a symbolic dimension to 1 is rejected when traced;
 * - every module's forward names itself when given something other than a Tensor;
 * - RotaryEmbedding wants one position per row, and dynamic NTK keeps a bounded table cache;
 * - callGraph checks fixed dimensions.
 */
import { describe, expect, it } from 'vitest';
import * as L from '../../src/index.js';

const { tensor, grad, sum } = L;
const f64 = (v: number[]): L.Tensor => tensor(v, { dtype: 'float64' });

describe('numerical edge cases', () => {
  it('sigmoid and silu gradients stay finite where exp overflows', () => {
    const [ds] = grad((x) => sum(L.sigmoid(x)))(tensor([-100, 0, 100]));
    expect(ds.toArray()).toEqual([Math.fround(3.783505853677006e-44), 0.25, 0]);
    const [dsilu] = grad((x) => sum(L.silu(x)))(f64([-800, 0, 800]));
    expect(dsilu.toArray()).toEqual([0, 0.5, 1]);
  });

  it('crossEntropy ignores a row of -Inf logits', () => {
    const logits = tensor([[1, 2, 3], [-Infinity, -Infinity, -Infinity]]);
    const loss = L.crossEntropy(logits, tensor([1, -100], { dtype: 'int32' })).item();
    const alone = L.crossEntropy(tensor([[1, 2, 3]]), tensor([1], { dtype: 'int32' })).item();
    expect(loss).toBe(alone);
  });

  it('logSumExp of an all -Inf row is -Inf; d(a^0)/da at 0 is 0', () => {
    expect(L.logSumExp(tensor([-Infinity, -Infinity])).item()).toBe(-Infinity);
    expect(grad((a) => sum(L.pow(a, tensor([0]))))(tensor([0]))[0].toArray()).toEqual([0]);
  });

  it('grad takes integer arguments and gives them zeros', () => {
    const { value, grads } = L.valueAndGrad((l, t) => L.crossEntropy(l, t))(tensor([[1, 2, 3]]), tensor([1], { dtype: 'int32' }));
    expect(Number.isFinite(value.item())).toBe(true);
    expect(grads[1].toArray()).toEqual([0]);
    expect(grads[1].dtype).toBe('int32');
  });
});

describe('dtypes', () => {
  it('int64 stays exact beyond 2^53 through bigints, sum and max', () => {
    const big = 2n ** 53n + 1n;
    const t = tensor([big, 2n]);
    expect(t.dtype).toBe('int64');
    expect(tensor(t.toArray()).data()).toEqual(BigInt64Array.of(big, 2n));
    expect(sum(t).data()).toEqual(BigInt64Array.of(big + 2n));
    expect(L.max(t).data()).toEqual(BigInt64Array.of(big));
  });

  it('argMax returns the first NaN', () => {
    expect(L.argMax(tensor([1, NaN, 3, NaN]), 0).item()).toBe(1);
  });

  it('a fractional number against an integer tensor is an error', () => {
    expect(() => L.add(tensor([1, 2], { dtype: 'int32' }), 0.5)).toThrow(/^add: b expected an integer \(the other operand is int32\), got 0.5/);
    expect(L.add(tensor([1, 2], { dtype: 'int32' }), 2).toArray()).toEqual([3, 4]);
  });

  it('expand of a symbolic dimension to 1 is rejected', () => {
    expect(() => L.trace((x) => L.expand(x, [1]), [{ shape: ['T'] }])).toThrow(L.LlmTricksError);
  });
});

describe('modules', () => {
  it.each([
    ['Linear', () => new L.Linear(2, 2).forward(undefined as never)],
    ['RmsNorm', () => new L.RmsNorm(2).forward(undefined as never)],
    ['LayerNorm', () => new L.LayerNorm(2).forward(undefined as never)],
    ['Embedding', () => new L.Embedding(2, 2).forward(undefined as never)],
    ['SwiGlu', () => new L.SwiGlu(2).forward(undefined as never)],
    ['Dropout', () => new L.Dropout().forward(undefined as never)],
    ['RotaryEmbedding', () => new L.RotaryEmbedding(2).forward(undefined as never)],
    ['AlibiBias', () => new L.AlibiBias(2).forward(undefined as never, 3)],
    ['RelativePositionBias', () => new L.RelativePositionBias(2).forward(undefined as never, 3)],
    ['MultiQueryAttention', () => new L.MultiQueryAttention(4, 2).forward(undefined as never)],
    ['DecoderLM', () => new L.DecoderLM({ vocab: 4, dim: 4, layers: 1, heads: 2 }).forward(undefined as never)],
  ])('%s.forward names itself for a missing input', (name, fn) => {
    expect(fn).toThrow(new RegExp(`^${name}: \\w+ expected a Tensor, got undefined$`));
  });

  it('RotaryEmbedding wants one position per row', () => {
    expect(() => new L.RotaryEmbedding(4).forward(L.ones([3, 4]), tensor([2], { dtype: 'int32' }))).toThrow(/positions expected an int32 tensor of shape \[3\]/);
  });

  it('dynamic NTK keeps a bounded table cache while decoding', () => {
    const r = new L.RotaryEmbedding(4, { maxPositions: 256, scaling: { type: 'dynamic', factor: 2, originalMaxPositions: 8 } });
    for (let p = 0; p < 100; p++) r.forward(L.ones([1, 4]), tensor([p], { dtype: 'int32' }));
    expect((r as unknown as { tables: Map<string, unknown> }).tables.size).toBeLessThanOrEqual(2);
  });

  it('callGraph checks fixed dimensions', () => {
    const g = L.trace((a) => sum(a), [{ shape: [3] }]);
    expect(() => L.callGraph(g, [tensor([1, 2, 3, 4])])).toThrow(/^callGraph: input 'input0' expected float32\[3\], got float32\[4\]$/);
  });
});
