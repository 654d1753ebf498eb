/**
 * float64 graphs keep float64 accuracy on ONNX Runtime at the default
 * settings: multi-query attention's q·kᵀ·(1/√D) in float64, compiled on
 * ort-node cpu with no options, equals the eager reference within 1e-12
 * relative. At ONNX Runtime's 'all' level the scale is folded into a
 * com.microsoft FusedMatMul whose alpha is a float32 attribute (1/√8 →
 * 0.35355338…), and the error is ~1e-8 — which is why float64 graphs
 * default to 'basic'; the second check shows that gap, so the first can
 * fail.
 */
import { describe, expect, it } from 'vitest';
import { MultiQueryAttention, RotaryEmbedding, tensor, trace, type Tensor } from '../../src/index.js';
import { ortNode } from '../../src/node.js';

function relError(got: Tensor, want: Tensor): number {
  const [g, w] = [got.data() as Float64Array, want.data() as Float64Array];
  const scale = Math.max(...Array.from(w, Math.abs));
  return Math.max(...Array.from(g, (x, i) => Math.abs(x - w[i]))) / scale;
}

describe('float64 on ONNX Runtime', () => {
  it('multi-query attention in float64 equals the reference within 1e-12 at the default settings', async () => {
    const attn = new MultiQueryAttention(32, 4, { kvHeads: 1, dtype: 'float64', seed: 5, position: new RotaryEmbedding(8, { maxPositions: 64 }) });
    const graph = trace((x, ...params) => attn.withParameters(params, () => attn.forward(x).output), [
      { shape: [2, 16, 32], dtype: 'float64' }, ...attn.parameters().map((p) => ({ shape: p.value.shape, dtype: p.value.dtype })),
    ]);
    const x = tensor(Float64Array.from({ length: 2 * 16 * 32 }, (_, i) => Math.sin(0.37 * i) * 3), { shape: [2, 16, 32], dtype: 'float64' });
    const feeds = [x, ...attn.parameters().map((p) => p.value)];
    const want = attn.forward(x).output;
    const byDefault = await ortNode.compile(graph, { device: 'cpu' });
    const [got] = await byDefault.run(feeds);
    expect(relError(got, want)).toBeLessThan(1e-12);
    const fused = await ortNode.compile(graph, { device: 'cpu', graphOptimizationLevel: 'all' });
    const [approx] = await fused.run(feeds);
    expect(relError(approx, want)).toBeGreaterThan(1e-10);
    await Promise.all([byDefault.dispose(), fused.dispose()]);
  });
});
