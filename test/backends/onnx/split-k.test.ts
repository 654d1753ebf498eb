/**
 * The splitK lowering (src/backends/onnx/lower/linalg.ts), which
 * onnxruntime-node's CPU device uses: a matrix product whose K is a
 * multiple of 1024 and whose M and N are at least 256 runs as products of
 * 512-wide slices of K added in order.
 * - On ONNX Runtime's CPU, after its own optimizations (each MatMul and Add
 *   fused into a Gemm accumulating into the sum so far), the split product
 *   has the bits of the single MatMul, and both are the sums written out
 *   here in float64, within float32 rounding; a weight's gradient traced
 *   through vjp (K = the tokens) splits too.
 * - Products outside the rule (K not a multiple of 1024, M or N below 256,
 *   a batched, symbolic or float64 product) and lowerings without the cap
 *   keep one MatMul.
 */
import { fromBinary } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { matmul, trace, vjp, type Shape } from '../../../src/index.js';
import { FULL_CAPS, lowerGraph } from '../../../src/node.js';
import { NODE_DEVICES } from '../../../src/backends/ort-node/index.js';
import { ModelProtoSchema } from '../../../src/backends/onnx/generated/onnx_pb.js';

const CPU_CAPS = NODE_DEVICES.devices.cpu.lowering;
const opsOf = (bytes: Uint8Array): string[] => fromBinary(ModelProtoSchema, bytes).graph!.node.map((n) => n.opType);
const product = (xs: Shape, ys: Shape, dtype: 'float32' | 'float64' = 'float32') => trace(matmul, [{ shape: xs, dtype }, { shape: ys, dtype }]);
/** How many elements of two float32 arrays differ in their bits (a count, so a failure prints one number). */
const differing = (a: Float32Array, b: Float32Array): number => { const [x, y] = [new Uint32Array(a.buffer, a.byteOffset, a.length), new Uint32Array(b.buffer, b.byteOffset, b.length)]; return x.filter((v, i) => v !== y[i]).length + Math.abs(a.length - b.length); };
const values = (n: number, f: (i: number) => number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.fround(f(i)));

async function run(bytes: Uint8Array, inputNames: readonly string[], feeds: [Float32Array, number[]][], output = 0): Promise<Float32Array> {
  // Two threads, as CI has: with many more, MLAS's blocks along K can outgrow a slice (see lower/linalg.ts).
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 2 });
  try {
    const out = await session.run(Object.fromEntries(feeds.map(([data, dims], i) => [inputNames[i], new ort.Tensor(data, dims)])));
    return out[session.outputNames[output]].data as Float32Array;
  } finally {
    await session.release();
  }
}

describe('splitK on onnxruntime-node\'s CPU', () => {
  it.each([[256, 1024, 300], [300, 2048, 256]])('(%i × %i) · (%i): the single MatMul\'s bits, and the sums written out', async (m, k, n) => {
    const graph = product([m, k], [k, n]);
    const split = lowerGraph(graph, { caps: CPU_CAPS });
    const single = lowerGraph(graph, { caps: FULL_CAPS });
    expect(opsOf(split.bytes).filter((op) => op === 'MatMul')).toHaveLength(k / 512);
    expect(opsOf(split.bytes).filter((op) => op === 'Add')).toHaveLength(k / 512 - 1);
    expect(opsOf(single.bytes)).toEqual(['MatMul']);
    const a = values(m * k, (i) => Math.sin(i) * 3);
    const b = values(k * n, (i) => Math.cos(i * 0.7));
    const feeds: [Float32Array, number[]][] = [[a, [m, k]], [b, [k, n]]];
    const [got, want] = [await run(split.bytes, split.inputNames, feeds), await run(single.bytes, single.inputNames, feeds)];
    expect(differing(got, want)).toBe(0);
    for (let i = 0; i < m; i += 37) {
      for (let j = 0; j < n; j += 29) {
        let sum = 0;
        for (let r = 0; r < k; r++) sum += a[i * k + r] * b[r * n + j];
        expect(Math.abs(got[i * n + j] - sum)).toBeLessThan(1e-5 * k);
      }
    }
  });

  it('splits a weight\'s gradient over 1024 tokens (the Trainer\'s dW = xᵀ dy), with the bits of the single product', async () => {
    const graph = vjp(product([4, 256, 256], [256, 384]));
    const split = lowerGraph(graph, { caps: CPU_CAPS });
    const single = lowerGraph(graph, { caps: FULL_CAPS });
    expect(opsOf(split.bytes).filter((op) => op === 'MatMul').length).toBe(opsOf(single.bytes).filter((op) => op === 'MatMul').length + 1);
    const feeds: [Float32Array, number[]][] = [
      [values(4 * 256 * 256, (i) => Math.sin(i)), [4, 256, 256]], [values(256 * 384, (i) => Math.cos(i)), [256, 384]], [values(4 * 256 * 384, (i) => ((i * 7) % 11) - 5), [4, 256, 384]],
    ];
    const [got, want] = [await run(split.bytes, split.inputNames, feeds, 2), await run(single.bytes, single.inputNames, feeds, 2)];
    expect(got.length).toBe(256 * 384);
    expect(differing(got, want)).toBe(0);
  });

  it.each([
    ['K not a multiple of 1024', [256, 1000], [1000, 256]],
    ['K 512', [256, 512], [512, 256]],
    ['M below 256', [128, 1024], [1024, 344]],
    ['N below 256', [344, 1024], [1024, 128]],
    ['a batched product', [2, 256, 1024], [2, 1024, 256]],
    ['a symbolic M', ['rows', 1024], [1024, 256]],
    ['float64 (a 512-wide slice has the 4 KB stride again)', [256, 1024], [1024, 256], 'float64'],
  ] as [string, Shape, Shape, ('float32' | 'float64')?][])('keeps one MatMul for %s', (_, xs, ys, dtype) => {
    expect(opsOf(lowerGraph(product(xs, ys, dtype), { caps: CPU_CAPS }).bytes).filter((op) => op === 'MatMul' || op === 'Slice' || op === 'Add')).toEqual(['MatMul']);
  });
});
