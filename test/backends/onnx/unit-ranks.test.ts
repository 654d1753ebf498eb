/**
 * Scalars against a (…, n, 1) tensor are given the tensor's rank when
 * lowered (unitRanks in src/backends/onnx/lower/elementwise.ts, and the
 * index wrapping of scatterAdd): ONNX Runtime's CPU kernels broadcast a
 * rank-0 operand over such a tensor one element at a time, 10–15 times
 * slower than the same scalar shaped (1, 1, 1). RMSNorm's statistics are
 * (B, T, 1), and a training step divides and shifts them by constants.
 * - A constant becomes an initializer of ones dims, a computed scalar a
 *   Reshape, and so does a model's weight (an initializer given by name,
 *   which keeps its name); the values are those written out here. A
 *   computed bool or int64 scalar is left as it is: WebGPU's Reshape has
 *   no kernel for them.
 * - Where the output's last dim is not 1, or the operand already has the
 *   output's rank, the graph is as it was.
 */
import { fromBinary } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { add, div, gather, less, scatterAdd, sum, tensor, trace, vjp, where, type Tensor } from '../../../src/index.js';
import { FULL_CAPS, lowerGraph, PORTABLE_CAPS } from '../../../src/node.js';
import { ModelProtoSchema } from '../../../src/backends/onnx/generated/onnx_pb.js';

type Model = NonNullable<ReturnType<typeof fromBinary<typeof ModelProtoSchema>>['graph']>;
const graphOf = (bytes: Uint8Array): Model => fromBinary(ModelProtoSchema, bytes).graph!;
/** The dims of each initializer `op`'s nodes read. */
function constantDims(g: Model, op: string): number[][] {
  const inits = new Map(g.initializer.map((t) => [t.name, t.dims.map(Number)]));
  return g.node.filter((n) => n.opType === op).flatMap((n) => n.input.filter((x) => inits.has(x)).map((x) => inits.get(x)!));
}

async function run(bytes: Uint8Array, inputNames: readonly string[], feeds: [Float32Array, number[]][]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2 });
  try {
    const out = await session.run(Object.fromEntries(feeds.map(([data, dims], i) => [inputNames[i], new ort.Tensor(data, dims)])));
    return out[session.outputNames[0]].data as Float32Array;
  } finally {
    await session.release();
  }
}

const stats = Float32Array.from({ length: 16 * 64 }, (_, i) => Math.fround(Math.sin(i) * 5));

describe('scalars against (…, n, 1) tensors', () => {
  it.each([['full', FULL_CAPS], ['portable', PORTABLE_CAPS]] as const)('constants take the tensor\'s rank (%s caps), with the same values', async (_, caps) => {
    // RMSNorm's statistics: a mean of squares, and eps added.
    const graph = trace((x: Tensor) => where(less(x, 0), 0, add(div(x, 128), 1e-6)), [{ shape: [16, 64, 1], dtype: 'float32' }]);
    const lowered = lowerGraph(graph, { caps });
    const g = graphOf(lowered.bytes);
    for (const op of ['Div', 'Add', 'Less', 'Where']) expect(constantDims(g, op), op).toEqual([[1, 1, 1]]);
    const got = await run(lowered.bytes, lowered.inputNames, [[stats, [16, 64, 1]]]);
    const want = stats.map((v) => (v < 0 ? 0 : Math.fround(Math.fround(v / 128) + Math.fround(1e-6))));
    expect(Array.from(got)).toEqual(Array.from(want));
  });

  it('a computed scalar is reshaped to the tensor\'s rank', async () => {
    const graph = trace((x: Tensor, s: Tensor) => div(x, s), [{ shape: [16, 64, 1], dtype: 'float32' }, { shape: [], dtype: 'float32' }]);
    const lowered = lowerGraph(graph, { caps: FULL_CAPS });
    const g = graphOf(lowered.bytes);
    const division = g.node.find((n) => n.opType === 'Div')!;
    const reshape = g.node.find((n) => n.opType === 'Reshape' && n.output[0] === division.input[1]);
    expect(reshape?.input[0]).toBe(lowered.inputNames[1]);
    const got = await run(lowered.bytes, lowered.inputNames, [[stats, [16, 64, 1]], [Float32Array.of(3), []]]);
    expect(Array.from(got)).toEqual(Array.from(stats, (v) => Math.fround(v / 3)));
  });

  it('a model\'s scalar weight keeps its name: read through a Reshape, not copied', async () => {
    const graph = trace((x: Tensor, s: Tensor) => div(x, s), [{ shape: [16, 64, 1], dtype: 'float32' }, { name: 'scale', shape: [], dtype: 'float32' }]);
    const lowered = lowerGraph(graph, { caps: FULL_CAPS, initializers: new Map([['scale', tensor(3)]]) });
    const g = graphOf(lowered.bytes);
    expect(g.initializer.map((t) => [t.name, t.dims.map(Number)]).filter(([, dims]) => (dims as number[]).length !== 1)).toEqual([['scale', []]]);
    const reshape = g.node.find((n) => n.opType === 'Reshape');
    expect(reshape?.input[0]).toBe('scale');
    expect(g.node.find((n) => n.opType === 'Div')?.input[1]).toBe(reshape?.output[0]);
    const got = await run(lowered.bytes, lowered.inputNames, [[stats, [16, 64, 1]]]);
    expect(Array.from(got)).toEqual(Array.from(stats, (v) => Math.fround(v / 3)));
  });

  it('a computed bool or int64 scalar is left as it is (WebGPU has no Reshape of them); a constant one is still shaped', () => {
    const select = trace((x: Tensor, c: Tensor) => where(c, x, 0), [{ shape: [16, 64, 1], dtype: 'float32' }, { shape: [], dtype: 'bool' }]);
    const g = graphOf(lowerGraph(select, { caps: PORTABLE_CAPS }).bytes);
    expect(g.node.filter((n) => n.opType === 'Reshape')).toEqual([]);
    expect(constantDims(g, 'Where')).toEqual([[1, 1, 1]]);
    const shift = trace((x: Tensor, s: Tensor) => add(x, s), [{ shape: [16, 64, 1], dtype: 'int64' }, { shape: [], dtype: 'int64' }]);
    expect(graphOf(lowerGraph(shift, { caps: PORTABLE_CAPS }).bytes).node.map((n) => n.opType)).toEqual(['Add']);
  });

  it.each([
    ['a last dim other than 1', [16, 64], []],
    ['an operand of the output\'s rank', [16, 64, 1], [1, 1, 1]],
  ])('%s: the scalar is left as it is', (_, shape, scalar) => {
    const graph = trace((x: Tensor, s: Tensor) => div(x, s), [{ shape, dtype: 'float32' }, { shape: scalar, dtype: 'float32' }]);
    const g = graphOf(lowerGraph(graph, { caps: FULL_CAPS }).bytes);
    expect(g.node.map((n) => n.opType)).toEqual(['Div']);
  });

  it('scatterAdd wraps its (1, J, 1) indices with (1, 1, 1) constants, static or symbolic', () => {
    for (const rows of [256, 'rows'] as const) {
      // The gradient of an embedding lookup: a scatterAdd of the rows' gradients.
      const graph = vjp(trace((table: Tensor, ids: Tensor) => sum(gather(table, ids, 0)), [{ shape: [rows, 8], dtype: 'float32' }, { shape: [4, 16], dtype: 'int32' }]), { wrt: [0] });
      const g = graphOf(lowerGraph(graph, { caps: FULL_CAPS }).bytes);
      expect(g.node.some((n) => n.opType === 'ScatterElements')).toBe(true);
      for (const op of ['Less', 'Add', 'Where']) expect(constantDims(g, op).filter((d) => d.length === 0), op).toEqual([]);
    }
    const direct = trace((base: Tensor, ids: Tensor, up: Tensor) => scatterAdd(base, ids, up), [{ shape: [256, 8], dtype: 'float32' }, { shape: [64], dtype: 'int32' }, { shape: [64, 8], dtype: 'float32' }]);
    expect(constantDims(graphOf(lowerGraph(direct, { caps: FULL_CAPS }).bytes), 'Less')).toEqual([[1, 1, 1], [1, 1, 1]]);
  });
});
