/**
 * Inputs the blocks must refuse or handle:
 * - a traced decoding step with a symbolic cache length P compiles and runs,
 *   its derived key length 'P+T' resolved at run time, and equals eager
 *   cached decoding;
 * - eager ids, targets and positions outside their tables are errors
 *   (gather alone would wrap negative ones to the end of the table);
 * - LayerNorm, like RmsNorm, takes a float64 input with float32 weights;
 * - DecoderLM names its own dim/heads mismatch.
 */
import { describe, expect, it } from 'vitest';
import {
  crossEntropy, DecoderLM, Embedding, LayerNorm, LlmTricksError, MultiQueryAttention, referenceBackend, RotaryEmbedding, tensor, trace,
} from '../../src/index.js';
import { i32, maxDiff, randn } from './util.js';

describe('a traced decoding step with a symbolic cache', () => {
  it("resolves the key length 'P+T' at run time and matches eager cached decoding", async () => {
    const m = new MultiQueryAttention(8, 4, { kvHeads: 2, position: new RotaryEmbedding(2, { maxPositions: 32 }), dtype: 'float64', seed: 3 });
    const step = trace((x, k, v, pos) => {
      const r = m.forward(x, { cache: { key: k, value: v }, positions: pos });
      return [r.output, r.cache.key, r.cache.value];
    }, [
      { name: 'x', shape: [1, 'T', 8], dtype: 'float64' },
      { name: 'key', shape: [1, 2, 'P', 2], dtype: 'float64' },
      { name: 'value', shape: [1, 2, 'P', 2], dtype: 'float64' },
      { name: 'positions', shape: ['T'], dtype: 'int32' },
    ]);
    expect(step.outputs[1].shape).toEqual([1, 2, 'P+T', 2]);
    const run = await referenceBackend.compile(step);
    const prefix = randn([1, 3, 8], 1);
    const next = randn([1, 2, 8], 2);
    const eager = m.forward(prefix);
    const want = m.forward(next, { cache: eager.cache });
    const [out, key] = await run.run({ x: next, key: eager.cache.key, value: eager.cache.value, positions: i32([3, 4]) });
    expect(maxDiff(out, want.output)).toBeLessThanOrEqual(1e-12);
    expect(key.shape).toEqual([1, 2, 5, 2]);
  });
});

describe('out-of-range indices', () => {
  const expectError = (fn: () => unknown, message: RegExp): void => {
    expect(fn).toThrow(LlmTricksError);
    expect(fn).toThrow(message);
  };

  it('Embedding rejects ids outside [0, count)', () => {
    const e = new Embedding(5, 2);
    expectError(() => e.forward(i32([0, -1])), /^Embedding: ids expected in \[0, 4\], got -1$/);
    expectError(() => e.forward(i32([5])), /got 5$/);
  });

  it('crossEntropy rejects targets outside [0, V) unless they are ignoreIndex', () => {
    const logits = tensor([[0, 1, 2], [2, 1, 0]]);
    expectError(() => crossEntropy(logits, i32([0, 7])), /^crossEntropy: targets expected in \[0, 2\] or ignoreIndex \(-100\), got 7$/);
    expect(Number.isFinite(crossEntropy(logits, i32([0, -100])).item())).toBe(true);
  });

  it('RotaryEmbedding rejects positions outside [0, maxPositions)', () => {
    const r = new RotaryEmbedding(4, { maxPositions: 8 });
    expectError(() => r.forward(randn([2, 4], 1), i32([0, 8])), /^RotaryEmbedding: positions expected in \[0, 7\] \(maxPositions\), got 8$/);
    expectError(() => r.forward(randn([1, 4], 1), i32([-1])), /got -1$/);
  });
});

describe('dtypes and configs', () => {
  it('LayerNorm takes a float64 input with float32 weights, as RmsNorm does', () => {
    const y = new LayerNorm(4).forward(randn([2, 4], 1));
    expect(y.dtype).toBe('float64');
  });

  it('DecoderLM names a dim that heads does not divide', () => {
    expect(() => new DecoderLM({ vocab: 8, dim: 10, layers: 1, heads: 4 })).toThrow(/^DecoderLM: dim \(10\) must be a multiple of heads \(4\), or give headDim$/);
  });
});
