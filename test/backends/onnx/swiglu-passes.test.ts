/**
 * The SwiGLU gate's forward and backward on onnxruntime-node's CPU, after
 * ONNX Runtime's own graph optimizations: one Sigmoid (the backward's
 * recomputed sigmoid and silu merge with the forward's) and eight
 * elementwise passes over the hidden activations in all (two forward, six
 * backward), with gradients equal to the generic graph's within float32
 * rounding.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { fromBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { mul, sigmoid, swiglu, trace, vjp } from '../../../src/index.js';
import { lowerGraph } from '../../../src/node.js';
import { ModelProtoSchema } from '../../../src/backends/onnx/generated/onnx_pb.js';

const SHAPE = [4, 16, 24];
const spec = { shape: SHAPE, dtype: 'float32' } as const;

/** The optimized model's nodes and the outputs (y, d gate, d up) of the vjp graph of `f` on fixed inputs. */
async function run(f: (gate: ReturnType<typeof sigmoid>, up: ReturnType<typeof sigmoid>) => ReturnType<typeof sigmoid>): Promise<{ ops: string[]; outputs: Float32Array[] }> {
  const { bytes, inputNames, outputNames } = lowerGraph(vjp(trace(f, [spec, spec])));
  const dir = mkdtempSync(join(tmpdir(), 'swiglu-'));
  try {
    const file = join(dir, 'optimized.onnx');
    const session = await ort.InferenceSession.create(bytes, { optimizedModelFilePath: file, graphOptimizationLevel: 'all' });
    const n = SHAPE.reduce((a, b) => a * b, 1);
    const inputs = [1, 2, 3].map((k) => Float32Array.from({ length: n }, (_, i) => Math.fround(3 * Math.sin(k * i + k))));
    const out = await session.run(Object.fromEntries(inputNames.map((name, i) => [name, new ort.Tensor(inputs[i], SHAPE)])));
    await session.release();
    return { ops: fromBinary(ModelProtoSchema, readFileSync(file)).graph!.node.map((node) => node.opType), outputs: outputNames.map((name) => out[name].data as Float32Array) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('swiglu on onnxruntime-node\'s CPU', () => {
  it('takes one Sigmoid and eight elementwise passes, forward and backward, with the generic graph\'s gradients', async () => {
    const fused = await run(swiglu);
    expect(fused.ops.filter((op) => op === 'Sigmoid')).toHaveLength(1);
    expect(fused.ops.filter((op) => ['Mul', 'Add', 'Sub', 'Div'].includes(op))).toHaveLength(8);
    const generic = await run((gate, up) => mul(mul(gate, sigmoid(gate)), up));
    fused.outputs.forEach((got, k) => got.forEach((v, i) => expect(Math.abs(v - generic.outputs[k][i])).toBeLessThanOrEqual(4e-6 * (1 + Math.abs(generic.outputs[k][i])))));
  });
});
