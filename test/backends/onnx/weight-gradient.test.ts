/**
 * The gradient of a weight applied to every token, dW = Σ_rows xᵀ·dy, on
 * onnxruntime-node's CPU:
 * - after ONNX Runtime's own graph optimizations, it is a plain MatMul of
 *   a transposed copy of x: no FusedMatMul or Gemm with a transposed
 *   operand (whose kernel packs that operand again for every block of the
 *   output, up to half again the product's time at a weight's gradient);
 * - its values are the sums written out here in float64, within float32
 *   rounding, for x of rank 3 and 4 (two and three folded axes) and for a
 *   weight shared over only the last batch axes.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { fromBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { matmul, trace, vjp } from '../../../src/index.js';
import { lowerGraph } from '../../../src/node.js';
import { ModelProtoSchema } from '../../../src/backends/onnx/generated/onnx_pb.js';

const CASES: [number[], number[]][] = [
  [[4, 16, 8], [8, 6]],
  [[2, 3, 16, 8], [8, 6]],
  [[2, 3, 16, 8], [2, 1, 8, 6]],
];

describe('a shared weight\'s gradient on onnxruntime-node\'s CPU', () => {
  it.each(CASES)('x%j @ w%j: a plain MatMul after ONNX Runtime\'s optimizations, with the written-out sums', async (xs, ws) => {
    const graph = vjp(trace(matmul, [{ shape: xs, dtype: 'float32' }, { shape: ws, dtype: 'float32' }]));
    const { bytes, inputNames, outputNames } = lowerGraph(graph);
    const dir = mkdtempSync(join(tmpdir(), 'wgrad-'));
    try {
      const file = join(dir, 'optimized.onnx');
      const session = await ort.InferenceSession.create(bytes, { optimizedModelFilePath: file, graphOptimizationLevel: 'all' });
      const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);
      const ys = [...xs.slice(0, -1), ws[ws.length - 1]];
      const x = Float32Array.from({ length: size(xs) }, (_, i) => Math.fround(Math.sin(i)));
      const w = Float32Array.from({ length: size(ws) }, (_, i) => Math.fround(Math.cos(i)));
      const dy = Float32Array.from({ length: size(ys) }, (_, i) => ((i * 7) % 11) - 5);
      const out = await session.run(Object.fromEntries([[inputNames[0], new ort.Tensor(x, xs)], [inputNames[1], new ort.Tensor(w, ws)], [inputNames[2], new ort.Tensor(dy, ys)]]));
      await session.release();

      // dW[.., i, j] = Σ over the rows sharing that slice of w of x[.., r, i]·dy[.., r, j], in float64.
      const [k, n] = ws.slice(-2);
      const rows = xs[xs.length - 2];
      const batches = size(xs.slice(0, -2));
      const wBatch = ws.length === 2 ? 1 : size(ws.slice(0, -2));
      const want = new Float64Array(size(ws));
      for (let b = 0; b < batches; b++) {
        const wb = wBatch === 1 ? 0 : Math.floor(b / (batches / wBatch));
        for (let r = 0; r < rows; r++) for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) {
          want[wb * k * n + i * n + j] += x[(b * rows + r) * k + i] * dy[(b * rows + r) * n + j];
        }
      }
      const got = out[outputNames[2]];
      expect(got.dims).toEqual(ws);
      (got.data as Float32Array).forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-4 * (1 + Math.abs(want[i]))));

      const nodes = fromBinary(ModelProtoSchema, readFileSync(file)).graph!.node;
      const transposedOperand = nodes.filter((node) => ['FusedMatMul', 'Gemm'].includes(node.opType) && node.attribute.some((a) => a.name === 'transA' && a.i === 1n));
      expect(transposedOperand.map((node) => node.name)).toEqual([]);
      expect(nodes.some((node) => node.opType === 'MatMul')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
