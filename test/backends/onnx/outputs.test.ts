/**
 * How lowerGraph names a graph's outputs (src/backends/onnx/lower.ts):
 * - an output computed by a node is that node's own output, renamed: no
 *   Identity copies it (ONNX Runtime copies an Identity's graph output every
 *   run: a training step's new parameters, a decoding step's KV cache);
 * - an output that is an input, or the same value as an earlier output, is
 *   copied by an Identity, so every output has a name of its own;
 * - the values are right on ONNX Runtime whichever way an output was named,
 *   with nodes that also consume a renamed value, and with chosen names that
 *   a generated one would otherwise take ('add_0', 'const_0');
 * - chosen names that repeat, name an input, or do not match the outputs
 *   are an LlmTricksError (ONNX Runtime refused such a model with "Duplicate
 *   definition of name").
 */
import { fromBinary } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { add, LlmTricksError, mul, tensor, trace } from '../../../src/index.js';
import { lowerGraph } from '../../../src/node.js';
import { ModelProtoSchema } from '../../../src/backends/onnx/generated/onnx_pb.js';

describe('lowerGraph outputs', () => {
  // y = x + 1 is an output and also feeds z = y · 2; x itself and y again are outputs too.
  const graph = trace((x) => {
    const y = add(x, tensor(1));
    return [y, mul(y, tensor(2)), x, y];
  }, [{ shape: [3] }]);

  it('renames the nodes computing outputs and copies only inputs and repeated values', () => {
    const { bytes, outputNames } = lowerGraph(graph);
    const model = fromBinary(ModelProtoSchema, bytes).graph!;
    const identities = model.node.filter((n) => n.opType === 'Identity');
    expect(identities.map((n) => n.output[0])).toEqual([outputNames[2], outputNames[3]]);
    expect(model.node.find((n) => n.opType === 'Add')!.output).toEqual([outputNames[0]]);
    expect(model.node.find((n) => n.opType === 'Mul')!.input).toContain(outputNames[0]);
    expect(model.output.map((o) => o.name)).toEqual(outputNames);
  });

  it('gives the right values on ONNX Runtime, with chosen output names too', async () => {
    for (const names of [undefined, ['a', 'b', 'c', 'd'], ['add_0', 'const_0', 'mul_1', 'ints_0']]) {
      const { bytes, inputNames, outputNames } = lowerGraph(graph, names ? { outputNames: names } : {});
      const session = await ort.InferenceSession.create(bytes);
      const out = await session.run({ [inputNames[0]]: new ort.Tensor('float32', Float32Array.from([1, 2, 3]), [3]) });
      expect(outputNames.map((n) => Array.from(out[n].data as Float32Array))).toEqual([[2, 3, 4], [4, 6, 8], [1, 2, 3], [2, 3, 4]]);
      await session.release();
    }
  });

  it.each([
    ['repeated', ['a', 'b', 'c', 'a'], /^lowerGraph: outputNames expected names unlike each other and the inputs', got 'a' twice or as an input's$/],
    ['an input\'s', ['a', 'input0', 'c', 'd'], /got 'input0' twice or as an input's$/],
    ['too few', ['a', 'b'], /^lowerGraph: outputNames expected 4 non-empty strings \(one per output\), got/],
    ['not strings', ['a', 'b', 'c', 4], /expected 4 non-empty strings/],
  ])('refuses chosen names that are %s', (_what, names, message) => {
    let error: unknown;
    try { lowerGraph(graph, { outputNames: names as string[] }); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(LlmTricksError);
    expect((error as Error).message).toMatch(message);
  });
});
